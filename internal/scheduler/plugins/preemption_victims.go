package plugins

import (
	"context"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// selectVictims works on a clone of one node: it removes every pod of
// lower priority than pod, checks that pod then fits, and gives back as
// many of them as still leave room — higher priority first, pods whose
// eviction would violate a PodDisruptionBudget before the others. What is
// left are the victims.
func (p *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*framework.PodInfo, int, *framework.Status) {
	remove := func(pi *framework.PodInfo) *framework.Status {
		if err := ni.RemovePod(pi.Pod); err != nil {
			return framework.AsStatus(err)
		}
		return p.h.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni)
	}
	add := func(pi *framework.PodInfo) *framework.Status {
		ni.AddPodInfo(pi)
		return p.h.RunPreFilterExtensionAddPod(ctx, state, pod, pi, ni)
	}
	prio := framework.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range append([]*framework.PodInfo(nil), ni.Pods...) {
		if framework.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
			if st := remove(pi); !st.IsSuccess() {
				return nil, 0, st
			}
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNoVictims)
	}
	if st := p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni); !st.IsSuccess() {
		return nil, 0, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violating, nonViolating := splitByPDB(potential, pdbs)
	var victims []*framework.PodInfo
	reprieve := func(pi *framework.PodInfo) (bool, *framework.Status) {
		if st := add(pi); !st.IsSuccess() {
			return false, st
		}
		if p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return true, nil
		}
		victims = append(victims, pi)
		return false, remove(pi)
	}
	violations := 0
	for _, pi := range violating {
		ok, st := reprieve(pi)
		if !st.IsSuccess() {
			return nil, 0, st
		}
		if !ok {
			violations++
		}
	}
	for _, pi := range nonViolating {
		if _, st := reprieve(pi); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	sort.SliceStable(victims, func(i, j int) bool { return moreImportant(victims[i].Pod, victims[j].Pod) })
	return victims, violations, nil
}

// moreImportant orders pods by priority, then by earlier start time.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a).Before(startTime(b))
}

func startTime(p *corev1.Pod) *metav1.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime
	}
	return &p.CreationTimestamp
}

// splitByPDB splits pods into those whose eviction would take a matching
// budget below zero disruptions allowed, and the rest.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			selectors[i] = sel
		}
	}
	for _, pi := range pods {
		pod := pi.Pod
		violated := false
		for i, pdb := range pdbs {
			sel := selectors[i]
			if pdb.Namespace != pod.Namespace || sel == nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			if _, done := pdb.Status.DisruptedPods[pod.Name]; done {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violated = true
			}
		}
		if violated {
			violating = append(violating, pi)
		} else {
			nonViolating = append(nonViolating, pi)
		}
	}
	return violating, nonViolating
}

// pickCandidate picks, in order: a node needing no eviction; the fewest
// PDB violations; the lowest highest-victim priority; the lowest sum of
// victim priorities; the fewest victims; the latest start among the
// highest-priority victims; the first.
func pickCandidate(cs []candidate) candidate {
	for _, c := range cs {
		if len(c.victims) == 0 {
			return c
		}
	}
	keys := []func(c candidate) int64{
		func(c candidate) int64 { return -int64(c.pdbViolations) },
		func(c candidate) int64 { return -int64(framework.PodPriority(c.victims[0].Pod)) },
		func(c candidate) int64 {
			var sum int64
			for _, v := range c.victims {
				sum += int64(framework.PodPriority(v.Pod)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c candidate) int64 { return -int64(len(c.victims)) },
		func(c candidate) int64 { return earliestStartOfTopVictims(c).UnixNano() },
	}
	best := cs
	for _, key := range keys {
		if len(best) == 1 {
			break
		}
		var top []candidate
		bestScore := int64(math.MinInt64)
		for _, c := range best {
			s := key(c)
			switch {
			case s > bestScore:
				bestScore, top = s, []candidate{c}
			case s == bestScore:
				top = append(top, c)
			}
		}
		best = top
	}
	return best[0]
}

// earliestStartOfTopVictims is the earliest start time among the victims
// with the highest priority.
func earliestStartOfTopVictims(c candidate) *metav1.Time {
	top := framework.PodPriority(c.victims[0].Pod)
	earliest := startTime(c.victims[0].Pod)
	for _, v := range c.victims[1:] {
		if framework.PodPriority(v.Pod) != top {
			break
		}
		if t := startTime(v.Pod); t.Before(earliest) {
			earliest = t
		}
	}
	return earliest
}
