// Package queue is the scheduling queue: pods waiting to be scheduled, in
// three places.
//
//	          Add/Update                      Pop
//	informer ───────────► activeQ (heap) ─────────► scheduling cycle
//	                        ▲     ▲                      │ fails
//	   backoff expired      │     │ cluster event         ▼
//	backoffQ (heap) ────────┘     └──────────── unschedulable pods
//	     ▲ error, or an event came while the pod was in flight
//	     └───────────────────────────────────────────────┘
//
// activeQ orders by priority, then by the time the pod entered it. A pod
// that failed waits out an exponential backoff (1s, 2s, … 10s by default)
// before it is tried again. A pod no node fits parks in the unschedulable
// set until a cluster event one of the plugins that rejected it cares
// about (node added, pod deleted, …) or until it has waited 5 minutes.
package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// ErrClosed is returned by Pop once the queue is closed.
var ErrClosed = errors.New("queue: closed")

// Defaults of Options.
const (
	DefaultInitialBackoff     = time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod last entered the queue.
	Timestamp time.Time
	// InitialAttemptTimestamp is when the pod was first popped.
	InitialAttemptTimestamp time.Time
	// Attempts counts the scheduling cycles of the pod.
	Attempts int
	// UnschedulablePlugins rejected the pod in its last cycle; empty after
	// an error.
	UnschedulablePlugins sets.Set[string]
}

// Options tune a Queue.
type Options struct {
	InitialBackoff, MaxBackoff, MaxInUnschedulable time.Duration
	// PluginEvents are the enqueue events of each plugin.
	PluginEvents map[string][]framework.ClusterEvent
	Clock        clock.WithTicker
}

// Queue is the scheduling queue; safe for concurrent use.
type Queue struct {
	opts  Options
	clock clock.WithTicker

	// mu guards every field below; cond signals Pop.
	mu            sync.Mutex
	cond          *sync.Cond
	active        *podHeap
	backoff       *podHeap
	unschedulable map[types.UID]*QueuedPodInfo
	inFlight      map[types.UID]*inFlight
	// schedulingCycle counts Pops.
	schedulingCycle int64
	closed          bool
	// events logs the cluster events since the oldest pod in flight was
	// popped (eventSeq numbers them; events[0] is number eventBase), so a
	// pod that fails can tell whether something relevant happened during
	// its cycle. popSeq is eventSeq at the last Pop.
	events    []framework.ClusterEvent
	eventBase int64
	eventSeq  int64
	popSeq    int64

	nominator *nominator
}

// inFlight is a popped pod not yet done: the latest version of it and the
// number of the first event logged after it was popped.
type inFlight struct {
	pod     *corev1.Pod
	deleted bool
	updated bool
	seq     int64
}

// New returns an empty queue.
func New(o Options) *Queue {
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxInUnschedulable == 0 {
		o.MaxInUnschedulable = DefaultMaxInUnschedulable
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	q := &Queue{opts: o, clock: o.Clock, unschedulable: map[types.UID]*QueuedPodInfo{},
		inFlight: map[types.UID]*inFlight{}, nominator: newNominator()}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(activeLess)
	q.backoff = newPodHeap(func(a, b *QueuedPodInfo) bool { return q.backoffExpiry(a).Before(q.backoffExpiry(b)) })
	return q
}

// activeLess orders by priority, then by the time the pod was queued.
func activeLess(a, b *QueuedPodInfo) bool {
	pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

// Nominator is the queue's record of nominated pods.
func (q *Queue) Nominator() framework.PodNominator { return q.nominator }

// Run flushes the backoff queue every second and the unschedulable pods
// that waited too long every 30 seconds, until ctx ends; then it closes
// the queue.
func (q *Queue) Run(ctx context.Context) {
	backoffTick := q.clock.NewTicker(time.Second)
	defer backoffTick.Stop()
	leftoverTick := q.clock.NewTicker(30 * time.Second)
	defer leftoverTick.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-backoffTick.C():
			q.FlushBackoffCompleted()
		case <-leftoverTick.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop, which then returns ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

func (q *Queue) newInfo(pod *corev1.Pod) *QueuedPodInfo {
	return &QueuedPodInfo{PodInfo: framework.NewPodInfo(pod), Timestamp: q.clock.Now()}
}

// Add queues a new pending pod.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.knownLocked(pod.UID) {
		q.updateLocked(pod, pod)
		return
	}
	qi := q.newInfo(pod)
	q.active.AddOrUpdate(qi)
	q.nominator.add(qi.PodInfo, "")
	q.cond.Broadcast()
}

func (q *Queue) knownLocked(uid types.UID) bool {
	if _, ok := q.active.Get(uid); ok {
		return true
	}
	if _, ok := q.backoff.Get(uid); ok {
		return true
	}
	if _, ok := q.unschedulable[uid]; ok {
		return true
	}
	_, ok := q.inFlight[uid]
	return ok
}

// Update replaces a pending pod. An unschedulable pod whose spec or labels
// changed is retried.
func (q *Queue) Update(old, pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.updateLocked(old, pod)
}

func (q *Queue) updateLocked(old, pod *corev1.Pod) {
	uid := pod.UID
	replace := func(qi *QueuedPodInfo) *QueuedPodInfo {
		n := *qi
		n.PodInfo = framework.NewPodInfo(pod)
		q.nominator.update(old, n.PodInfo)
		return &n
	}
	if qi, ok := q.active.Get(uid); ok {
		q.active.AddOrUpdate(replace(qi))
		return
	}
	if qi, ok := q.backoff.Get(uid); ok {
		q.backoff.AddOrUpdate(replace(qi))
		return
	}
	if qi, ok := q.unschedulable[uid]; ok {
		n := replace(qi)
		if specChanged(old, pod) {
			delete(q.unschedulable, uid)
			q.requeueLocked(n)
		} else {
			q.unschedulable[uid] = n
		}
		return
	}
	if f, ok := q.inFlight[uid]; ok {
		f.updated = f.updated || specChanged(f.pod, pod)
		f.pod = pod
		q.nominator.update(old, framework.NewPodInfo(pod))
		return
	}
	qi := q.newInfo(pod)
	q.active.AddOrUpdate(qi)
	q.nominator.add(qi.PodInfo, "")
	q.cond.Broadcast()
}

// specChanged reports a change other than status and bookkeeping metadata.
func specChanged(old, pod *corev1.Pod) bool {
	if old == pod {
		return false
	}
	return !equality.Semantic.DeepEqual(old.Spec, pod.Spec) || !equality.Semantic.DeepEqual(old.Labels, pod.Labels) ||
		!equality.Semantic.DeepEqual(old.Annotations, pod.Annotations)
}

// Delete forgets a pod (deleted, or bound).
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominator.delete(pod)
	q.active.Delete(pod.UID)
	q.backoff.Delete(pod.UID)
	delete(q.unschedulable, pod.UID)
	if f, ok := q.inFlight[pod.UID]; ok {
		f.deleted = true
	}
}

// DeleteNomination forgets the pod's nomination (it was assumed on a node).
func (q *Queue) DeleteNomination(pod *corev1.Pod) { q.nominator.delete(pod) }

// Pop blocks until a pod is active (or the queue closes) and returns it;
// the pod is in flight until Done.
func (q *Queue) Pop(ctx context.Context) (*QueuedPodInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed && ctx.Err() == nil {
		q.cond.Wait()
	}
	if q.closed || ctx.Err() != nil {
		return nil, ErrClosed
	}
	qi := q.active.PopTop()
	q.schedulingCycle++
	qi.Attempts++
	if qi.InitialAttemptTimestamp.IsZero() {
		qi.InitialAttemptTimestamp = q.clock.Now()
	}
	q.inFlight[qi.Pod.UID] = &inFlight{pod: qi.Pod, seq: q.eventSeq}
	q.popSeq = q.eventSeq
	return qi, nil
}

// SchedulingCycle is the number of Pops so far.
func (q *Queue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.schedulingCycle
}

// Done ends the flight of a popped pod.
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
	q.trimEventsLocked()
}

// maxEventLog is the event log length past which it is trimmed to the
// events the pods in flight may still need.
const maxEventLog = 1024

func (q *Queue) trimEventsLocked() {
	if len(q.inFlight) == 0 {
		q.events, q.eventBase = q.events[:0], q.eventSeq
		return
	}
	if len(q.events) < maxEventLog {
		return
	}
	oldest := q.eventSeq
	for _, f := range q.inFlight {
		oldest = min(oldest, f.seq)
	}
	if drop := int(oldest - q.eventBase); drop > 0 {
		q.events = append(q.events[:0], q.events[drop:]...)
		q.eventBase = oldest
	}
}

// logEventLocked records ev for the pods in flight; repeats of the last
// event with no Pop in between are dropped, as they tell nobody anything
// new.
func (q *Queue) logEventLocked(ev framework.ClusterEvent) {
	if len(q.inFlight) == 0 {
		return
	}
	if n := len(q.events); n > 0 && q.popSeq < q.eventSeq && q.events[n-1].Resource == ev.Resource && q.events[n-1].ActionType == ev.ActionType {
		return
	}
	q.events = append(q.events, ev)
	q.eventSeq++
}

// AddUnschedulable puts back a pod whose cycle failed. It goes to the
// backoff queue after an error, when it changed meanwhile, or when a
// cluster event its rejecting plugins care about came while it was in
// flight; otherwise it parks as unschedulable.
//
// nominated, when set, is the node preemption nominated ("" clears the
// nomination); nil keeps the current one.
func (q *Queue) AddUnschedulable(qi *QueuedPodInfo, nominated *string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, ok := q.inFlight[qi.Pod.UID]
	if ok && f.deleted {
		return
	}
	if q.knownLocked(qi.Pod.UID) && !ok {
		return // re-added meanwhile
	}
	if ok && f.pod != qi.Pod {
		qi.PodInfo = framework.NewPodInfo(f.pod)
	}
	qi.Timestamp = q.clock.Now()
	if nominated != nil {
		q.nominator.set(qi.PodInfo, *nominated)
	} else {
		q.nominator.update(qi.Pod, qi.PodInfo)
	}
	retry := len(qi.UnschedulablePlugins) == 0 || (ok && (f.updated || q.eventsMatchLocked(qi, f.seq)))
	if retry {
		q.backoff.AddOrUpdate(qi)
		return
	}
	q.unschedulable[qi.Pod.UID] = qi
}

// eventsMatchLocked reports whether an event logged since number seq
// concerns a plugin that rejected qi.
func (q *Queue) eventsMatchLocked(qi *QueuedPodInfo, seq int64) bool {
	for _, ev := range q.events[max(seq-q.eventBase, 0):] {
		if q.interestedLocked(qi, ev) {
			return true
		}
	}
	return false
}

// interestedLocked reports whether a plugin that rejected qi registered ev.
func (q *Queue) interestedLocked(qi *QueuedPodInfo, ev framework.ClusterEvent) bool {
	if ev.Resource == "*" {
		return true
	}
	for p := range qi.UnschedulablePlugins {
		evs, ok := q.opts.PluginEvents[p]
		if !ok {
			return true // a plugin without EnqueueExtensions: any event may help
		}
		for _, r := range evs {
			if r.Match(ev) {
				return true
			}
		}
	}
	return false
}

// MoveOnEvent retries the unschedulable pods that a plugin which rejected
// them registered ev for and that preCheck (if set) accepts.
func (q *Queue) MoveOnEvent(ev framework.ClusterEvent, preCheck func(*QueuedPodInfo) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.logEventLocked(ev)
	for uid, qi := range q.unschedulable {
		if !q.interestedLocked(qi, ev) || (preCheck != nil && !preCheck(qi)) {
			continue
		}
		delete(q.unschedulable, uid)
		q.requeueLocked(qi)
	}
}

// requeueLocked puts qi into backoff if it is still backing off, else
// into active.
func (q *Queue) requeueLocked(qi *QueuedPodInfo) {
	if q.backoffExpiry(qi).After(q.clock.Now()) {
		q.backoff.AddOrUpdate(qi)
		return
	}
	q.active.AddOrUpdate(qi)
	q.cond.Broadcast()
}

// backoffExpiry is when qi's backoff ends: initial·2^(attempts-1), capped.
func (q *Queue) backoffExpiry(qi *QueuedPodInfo) time.Time {
	d := q.opts.InitialBackoff
	for i := 1; i < qi.Attempts && d < q.opts.MaxBackoff; i++ {
		d *= 2
	}
	return qi.Timestamp.Add(min(d, q.opts.MaxBackoff))
}

// FlushBackoffCompleted moves pods whose backoff ended to active.
func (q *Queue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for {
		qi := q.backoff.Peek()
		if qi == nil || q.backoffExpiry(qi).After(now) {
			return
		}
		q.backoff.PopTop()
		q.active.AddOrUpdate(qi)
		q.cond.Broadcast()
	}
}

// FlushUnschedulableLeftover retries pods unschedulable for too long.
func (q *Queue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for uid, qi := range q.unschedulable {
		if now.Sub(qi.Timestamp) >= q.opts.MaxInUnschedulable {
			delete(q.unschedulable, uid)
			q.requeueLocked(qi)
		}
	}
}

// Counts returns the number of pods active, backing off and unschedulable.
func (q *Queue) Counts() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// PendingPods lists every queued pod (not those in flight).
func (q *Queue) PendingPods() []*corev1.Pod {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*corev1.Pod
	for _, qi := range q.active.items {
		out = append(out, qi.Pod)
	}
	for _, qi := range q.backoff.items {
		out = append(out, qi.Pod)
	}
	for _, qi := range q.unschedulable {
		out = append(out, qi.Pod)
	}
	return out
}
