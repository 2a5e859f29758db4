package pods

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// kubeletConditions are the pod conditions the agent owns; others (PodScheduled,
// readiness gates, DisruptionTarget) are kept as they are.
func kubeletCondition(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady:
		return true
	}
	return false
}

// desiredStatus is the latest status a worker computed for a pod.
type desiredStatus struct {
	namespace, name string
	uid             types.UID
	status          corev1.PodStatus
}

// maxParallelStatusWrites bounds the status writes in flight: pods
// starting together get their status written together, not one API round
// trip after another.
const maxParallelStatusWrites = 8

// statusManager coalesces status updates: it keeps the latest desired
// status per pod and writes them (one write at a time per pod, several pods
// at once), skipping no-op writes and retrying failed ones until they land
// or the pod is gone.
type statusManager struct {
	client kubernetes.Interface
	lister corelisters.PodLister
	log    *slog.Logger
	kickCh chan struct{}

	// mu guards pending and writing. Lock order: a pod's write lock
	// (writing) before mu.
	mu      sync.Mutex
	pending map[types.UID]*desiredStatus
	// writing holds one lock per pod with a write in progress or queued,
	// so a pod's writes never overlap.
	writing map[types.UID]*podWriteLock
	// written is each pod as the last successful write returned it. The
	// informer's copy lags behind it for a moment; comparing with the
	// newer of the two keeps a status just written from being written
	// again (and conflicting) because the informer has not caught up.
	written map[types.UID]*corev1.Pod
}

// podWriteLock serialises the writes of one pod; users counts who holds or
// waits for it, so it is dropped when the last one is done.
type podWriteLock struct {
	sync.Mutex
	users int
}

func newStatusManager(client kubernetes.Interface, lister corelisters.PodLister, log *slog.Logger) *statusManager {
	return &statusManager{client: client, lister: lister, log: log, kickCh: make(chan struct{}, 1),
		pending: map[types.UID]*desiredStatus{}, writing: map[types.UID]*podWriteLock{}, written: map[types.UID]*corev1.Pod{}}
}

// lockPod takes pod uid's write lock and returns its release.
func (s *statusManager) lockPod(uid types.UID) func() {
	s.mu.Lock()
	l := s.writing[uid]
	if l == nil {
		l = &podWriteLock{}
		s.writing[uid] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.writing, uid)
		}
		s.mu.Unlock()
	}
}

// set records pod's desired status for writing.
func (s *statusManager) set(pod *corev1.Pod, status corev1.PodStatus) {
	s.mu.Lock()
	s.pending[pod.UID] = &desiredStatus{namespace: pod.Namespace, name: pod.Name, uid: pod.UID, status: status}
	s.mu.Unlock()
	select {
	case s.kickCh <- struct{}{}:
	default:
	}
}

// run writes pending statuses until ctx ends.
func (s *statusManager) run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kickCh:
		case <-retry.C:
		}
		if s.writeAll(ctx) {
			retry.Reset(time.Second)
		}
	}
}

// writeAll writes every pending status once; it reports whether some must
// be retried.
func (s *statusManager) writeAll(ctx context.Context) bool {
	s.mu.Lock()
	uids := make([]types.UID, 0, len(s.pending))
	for uid := range s.pending {
		uids = append(uids, uid)
	}
	s.mu.Unlock()
	var failed atomic.Bool
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelStatusWrites)
	for _, uid := range uids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.flush(ctx, uid); err != nil {
				s.log.Warn("write pod status", "uid", uid, "err", err)
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// flush writes pod uid's pending status now, if any. On error the status
// stays pending (unless a newer one replaced it meanwhile, which wins).
func (s *statusManager) flush(ctx context.Context, uid types.UID) error {
	defer s.lockPod(uid)()
	s.mu.Lock()
	d := s.pending[uid]
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	err := s.write(ctx, d)
	s.mu.Lock()
	if err == nil && s.pending[uid] == d {
		delete(s.pending, uid)
	}
	s.mu.Unlock()
	return err
}

// write merges d into the pod's current status and updates it unless
// nothing changes. A pod that is gone (or replaced) is done with.
func (s *statusManager) write(ctx context.Context, d *desiredStatus) error {
	var pod *corev1.Pod
	if p, err := s.lister.Pods(d.namespace).Get(d.name); err == nil && p.UID == d.uid {
		pod = p
	}
	s.mu.Lock()
	last := s.written[d.uid]
	s.mu.Unlock()
	if last != nil && (pod == nil || olderThan(pod, last)) {
		pod = last
	}
	for attempt := 0; attempt < 5; attempt++ {
		if pod == nil {
			p, err := s.client.CoreV1().Pods(d.namespace).Get(ctx, d.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				s.forget(d.uid)
				return nil
			}
			if err != nil {
				return fmt.Errorf("get pod %s/%s: %w", d.namespace, d.name, err)
			}
			pod = p
		}
		if pod.UID != d.uid {
			return nil
		}
		merged := mergeStatus(pod.Status, d.status)
		if equality.Semantic.DeepEqual(merged, pod.Status) {
			return nil
		}
		upd := pod.DeepCopy()
		upd.Status = merged
		out, err := s.client.CoreV1().Pods(d.namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		switch {
		case err == nil:
			s.mu.Lock()
			s.written[d.uid] = out
			s.mu.Unlock()
			return nil
		case apierrors.IsNotFound(err):
			s.forget(d.uid)
			return nil
		case apierrors.IsConflict(err):
			pod = nil // read it again
		default:
			return fmt.Errorf("update status of pod %s/%s: %w", d.namespace, d.name, err)
		}
	}
	return fmt.Errorf("update status of pod %s/%s: conflicts persist", d.namespace, d.name)
}

// forget drops what the manager remembers of pod uid's writes.
func (s *statusManager) forget(uid types.UID) {
	s.mu.Lock()
	delete(s.written, uid)
	s.mu.Unlock()
}

// olderThan reports whether a is an older version of the same pod than b.
// skiff's resourceVersions are storage revisions, so they order versions;
// anything else counts as not older.
func olderThan(a, b *corev1.Pod) bool {
	ra, errA := strconv.ParseUint(a.ResourceVersion, 10, 64)
	rb, errB := strconv.ParseUint(b.ResourceVersion, 10, 64)
	return errA == nil && errB == nil && ra < rb
}

// mergeStatus puts the agent's view into the pod's current status, keeping
// conditions others own and never leaving a terminal phase.
func mergeStatus(cur, desired corev1.PodStatus) corev1.PodStatus {
	out := *desired.DeepCopy()
	out.Conditions = nil
	for _, c := range cur.Conditions {
		if !kubeletCondition(c.Type) {
			out.Conditions = append(out.Conditions, c)
		}
	}
	out.Conditions = append(out.Conditions, desired.Conditions...)
	if out.Message == "" && out.Reason == "" {
		out.Message, out.Reason = cur.Message, cur.Reason
	}
	if out.NominatedNodeName == "" {
		out.NominatedNodeName = cur.NominatedNodeName
	}
	out.ResourceClaimStatuses = cur.ResourceClaimStatuses
	if isTerminal(cur.Phase) && !isTerminal(out.Phase) {
		out.Phase = cur.Phase
	}
	return out
}
