package daemonset

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"
)

// budget returns maxSurge and maxUnavailable scaled to the number of
// nodes that should run a pod (both round up); when both come to 0,
// maxUnavailable is 1 so the update can progress.
func budget(ds *appsv1.DaemonSet, desired int) (maxSurge, maxUnavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru != nil {
		if ru.MaxSurge != nil {
			maxSurge, _ = intstrutil.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true)
		}
		if ru.MaxUnavailable != nil {
			maxUnavailable, _ = intstrutil.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		}
	}
	if desired > 0 && maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable
}

// split returns the one up-to-date and the one old live pod of a node; ok
// is false when there are more of either (manage cleans those up first).
func (s *state) split(pods []*corev1.Pod) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if s.updated(p) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// rollingNodes returns the pods by node the update considers: every node
// with pods, and every node that should run a pod (with none, for now),
// sorted by name so choices are stable; and the number that should run.
func (s *state) rollingNodes() (names []string, desired int) {
	seen := map[string]bool{}
	for name := range s.byNode {
		seen[name] = true
	}
	for _, n := range s.nodes {
		if placeOn(s.ds, n).shouldRun {
			desired++
			seen[n.Name] = true
		}
	}
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, desired
}

// rollingUpdate replaces old pods within the strategy's budget.
func (c *Controller) rollingUpdate(ctx context.Context, key string, s *state) error {
	names, desired := s.rollingNodes()
	maxSurge, maxUnavailable := budget(s.ds, desired)
	if maxSurge == 0 {
		return c.syncNodes(ctx, key, s, nil, s.replaceInPlace(names, maxUnavailable))
	}
	create, del := s.surge(names, maxSurge)
	return c.syncNodes(ctx, key, s, create, del)
}

// replaceInPlace picks old pods to delete without surge: unavailable old
// pods always, available ones while fewer than maxUnavailable nodes are
// unavailable.
func (s *state) replaceInPlace(names []string, maxUnavailable int) []*corev1.Pod {
	unavailable := 0
	var broken, candidates []*corev1.Pod
	for _, name := range names {
		newPod, oldPod, ok := s.split(s.byNode[name])
		switch {
		case !ok, newPod == nil && oldPod == nil, newPod != nil && oldPod != nil:
			unavailable++ // manage creates or cleans up; count it down
		case newPod != nil:
			if !s.available(newPod) {
				unavailable++
			}
		case !s.available(oldPod):
			broken = append(broken, oldPod)
		default:
			candidates = append(candidates, oldPod)
		}
	}
	room := max(maxUnavailable-unavailable, 0)
	return append(broken, candidates[:min(room, len(candidates))]...)
}

// surge picks nodes to start a new pod on next to the old one (nodes with
// an unavailable old pod always, others up to maxSurge in flight) and old
// pods to delete once their replacement is available.
func (s *state) surge(names []string, maxSurge int) (create []string, del []*corev1.Pod) {
	surging := 0
	var candidates []string
	eligible := map[string]bool{}
	for _, n := range s.nodes {
		eligible[n.Name] = placeOn(s.ds, n).shouldRun
	}
	for _, name := range names {
		newPod, oldPod, ok := s.split(s.byNode[name])
		switch {
		case !ok:
			surging++
		case oldPod == nil:
			// manage handles this node
		case newPod == nil && !s.available(oldPod):
			if eligible[name] {
				create = append(create, name)
			} else {
				del = append(del, oldPod)
			}
		case newPod == nil:
			candidates = append(candidates, name)
		case !s.available(newPod):
			surging++
		default:
			del = append(del, oldPod)
		}
	}
	room := max(maxSurge-surging, 0)
	return append(create, candidates[:min(room, len(candidates))]...), del
}
