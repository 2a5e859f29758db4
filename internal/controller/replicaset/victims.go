package replicaset

import (
	"math"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// AnnotationDeletionCost ranks pods for scale-down: lower cost goes first.
const AnnotationDeletionCost = "controller.kubernetes.io/pod-deletion-cost"

// pickVictims returns the n pods whose loss hurts least, in this order of
// preference (the first difference decides):
//
//  1. not yet scheduled before scheduled,
//  2. Pending before Unknown before Running,
//  3. not ready before ready,
//  4. lower pod-deletion-cost annotation first,
//  5. on a node crowded with related pods before a less crowded one,
//  6. ready for less time first (in doubling time buckets, so that pods
//     that became ready at nearly the same time count as equal),
//  7. more container restarts first,
//  8. newer before older (doubling buckets too), then by UID.
func pickVictims(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	perNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			perNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]rankedPod, len(pods))
	for i, p := range pods {
		ranked[i] = rankOf(p, perNode[p.Spec.NodeName])
	}
	slices.SortStableFunc(ranked, func(a, b rankedPod) int { return a.compare(b, now) })
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

// rankedPod is a pod with the facts victim choice compares.
type rankedPod struct {
	pod       *corev1.Pod
	scheduled bool
	phase     int
	ready     bool
	readyAt   time.Time
	cost      int32
	crowd     int
	restarts  int32
}

// phaseOrder puts Pending before Unknown before Running.
var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func rankOf(p *corev1.Pod, crowd int) rankedPod {
	r := rankedPod{pod: p, scheduled: p.Spec.NodeName != "", phase: phaseOrder[p.Status.Phase], crowd: crowd}
	if c := controller.PodReadyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		r.ready, r.readyAt = true, c.LastTransitionTime.Time
	}
	if v, ok := p.Annotations[AnnotationDeletionCost]; ok {
		if cost, err := strconv.ParseInt(v, 10, 32); err == nil {
			r.cost = int32(cost)
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		r.restarts = max(r.restarts, s.RestartCount)
	}
	return r
}

// compare orders a before b (negative) when a is the better victim.
func (a rankedPod) compare(b rankedPod, now time.Time) int {
	switch {
	case a.scheduled != b.scheduled:
		return boolFirst(!a.scheduled)
	case a.phase != b.phase:
		return a.phase - b.phase
	case a.ready != b.ready:
		return boolFirst(!a.ready)
	case a.cost != b.cost:
		if a.cost < b.cost {
			return -1
		}
		return 1
	case a.crowd != b.crowd:
		return b.crowd - a.crowd
	}
	if a.ready && b.ready && !a.readyAt.Equal(b.readyAt) {
		if d := newerFirst(a.readyAt, b.readyAt, now); d != 0 {
			return d
		}
	}
	if a.restarts != b.restarts {
		if a.restarts > b.restarts {
			return -1
		}
		return 1
	}
	if ca, cb := a.pod.CreationTimestamp.Time, b.pod.CreationTimestamp.Time; !ca.Equal(cb) {
		if d := newerFirst(ca, cb, now); d != 0 {
			return d
		}
	}
	switch {
	case a.pod.UID < b.pod.UID:
		return -1
	case a.pod.UID > b.pod.UID:
		return 1
	}
	return 0
}

// newerFirst orders the later of two times first, comparing the base-2
// logarithm of their ages so that near-equal ages tie (0). A zero time
// counts as newest.
func newerFirst(a, b, now time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return -1
	case b.IsZero():
		return 1
	}
	ba, bb := ageBucket(a, now), ageBucket(b, now)
	switch {
	case ba < bb:
		return -1
	case ba > bb:
		return 1
	}
	return 0
}

// ageBucket is floor(log2(age in seconds)), 0 for ages under two seconds.
func ageBucket(t, now time.Time) int {
	age := now.Sub(t).Seconds()
	if age < 2 {
		return 0
	}
	return int(math.Floor(math.Log2(age)))
}

func boolFirst(aFirst bool) int {
	if aFirst {
		return -1
	}
	return 1
}
