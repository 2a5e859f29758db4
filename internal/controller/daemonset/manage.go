package daemonset

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// state is one reconcile's view of a DaemonSet.
type state struct {
	ds   *appsv1.DaemonSet
	hash string // controller-revision-hash of up-to-date pods
	// collisions is status.collisionCount to report.
	collisions *int32
	// nodes are all nodes; byNode the owned pods by target node.
	nodes  []*corev1.Node
	byNode map[string][]*corev1.Pod
	now    time.Time
}

// podsByNode groups pods by the node they are for, oldest (scheduled
// first) first; pods for no node are left out.
func podsByNode(pods []*corev1.Pod) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if n := targetNode(p); n != "" {
			out[n] = append(out[n], p)
		}
	}
	for _, ps := range out {
		slices.SortFunc(ps, olderFirst)
	}
	return out
}

// olderFirst orders scheduled pods before unscheduled ones, then by
// creation time and name.
func olderFirst(a, b *corev1.Pod) int {
	scheduled := func(p *corev1.Pod) int {
		if p.Spec.NodeName != "" {
			return 0
		}
		return 1
	}
	return cmp.Or(cmp.Compare(scheduled(a), scheduled(b)),
		a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
}

func (s *state) updated(p *corev1.Pod) bool {
	return p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == s.hash
}

func (s *state) available(p *corev1.Pod) bool {
	return controller.PodAvailable(p, s.ds.Spec.MinReadySeconds, s.now)
}

func allowsSurge(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return false
	}
	return ru.MaxSurge.StrVal != "0%" && (ru.MaxSurge.StrVal != "" || ru.MaxSurge.IntVal != 0)
}

// manage creates the missing daemon pods and deletes those that must go;
// it returns when to look again for failed pods held back by back-off.
func (c *Controller) manage(ctx context.Context, key string, s *state) (time.Duration, error) {
	var create []string
	var del []*corev1.Pod
	var requeue time.Duration
	known := map[string]bool{}
	for _, node := range s.nodes {
		known[node.Name] = true
		pl := placeOn(s.ds, node)
		pods := s.byNode[node.Name]
		switch {
		case pl.shouldRun && len(pods) == 0:
			create = append(create, node.Name)
		case pl.mayContinue:
			var running []*corev1.Pod
			for _, p := range pods {
				switch {
				case p.DeletionTimestamp != nil:
				case p.Status.Phase == corev1.PodFailed:
					if wait := c.failedPodBackoff(s.ds, node.Name, p); wait > 0 {
						requeue = minPositive(requeue, wait)
						continue
					}
					del = append(del, p)
				case p.Status.Phase == corev1.PodSucceeded:
					del = append(del, p)
				default:
					running = append(running, p)
				}
			}
			del = append(del, s.surplus(running)...)
		default:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					del = append(del, p)
				}
			}
		}
	}
	// Unscheduled pods for nodes that are gone will never run.
	for name, pods := range s.byNode {
		for _, p := range pods {
			if !known[name] && p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				del = append(del, p)
			}
		}
	}
	return requeue, c.syncNodes(ctx, key, s, create, del)
}

// surplus returns the running pods of one node beyond the one to keep:
// without surge all but the oldest; with surge an old and a new pod may
// overlap until the new one is available.
func (s *state) surplus(running []*corev1.Pod) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	if !allowsSurge(s.ds) {
		// Keep the oldest, preferring a ready one (creation times tie
		// within a second).
		keep := 0
		if i := slices.IndexFunc(running, controller.PodReady); i >= 0 {
			keep = i
		}
		return slices.Delete(slices.Clone(running), keep, keep+1)
	}
	var del []*corev1.Pod
	var oldestNew, oldestOld *corev1.Pod
	for _, p := range running {
		switch {
		case s.updated(p) && oldestNew == nil:
			oldestNew = p
		case !s.updated(p) && oldestOld == nil:
			oldestOld = p
		case !s.updated(p) && controller.PodReady(p) && !controller.PodReady(oldestOld):
			// Of two old pods (a template changed mid-surge) keep a ready
			// one: creation times tie within a second.
			del = append(del, oldestOld)
			oldestOld = p
		default:
			del = append(del, p)
		}
	}
	if oldestNew != nil && oldestOld != nil && (!controller.PodReady(oldestOld) || s.available(oldestNew)) {
		del = append(del, oldestOld)
	}
	return del
}

// failedPodBackoff returns how long a failed pod on node must still stay;
// when it may go now it records the attempt and warns.
func (c *Controller) failedPodBackoff(ds *appsv1.DaemonSet, node string, p *corev1.Pod) time.Duration {
	key := fmt.Sprintf("%s/%d/%s", ds.UID, ds.Status.ObservedGeneration, node)
	now := c.failedBackoff.Clock.Now()
	if c.failedBackoff.IsInBackOffSinceUpdate(key, now) {
		return c.failedBackoff.Get(key)
	}
	c.failedBackoff.Next(key, now)
	c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonFailedDaemonPod,
		"Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node)
	return 0
}

func minPositive(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// syncNodes deletes del or, when there is nothing to delete, creates a pod
// for each node in create; at most BurstReplicas of either.
func (c *Controller) syncNodes(ctx context.Context, key string, s *state, create []string, del []*corev1.Pod) error {
	pc := controller.PodControl{Client: c.client, Recorder: c.recorder, Expectations: c.expectations}
	if len(del) > 0 {
		_, err := pc.Delete(ctx, key, s.ds, del[:min(len(del), BurstReplicas)])
		return err
	}
	if len(create) == 0 {
		return nil
	}
	pods := make([]*corev1.Pod, 0, min(len(create), BurstReplicas))
	for _, node := range create[:min(len(create), BurstReplicas)] {
		pods = append(pods, newPod(s.ds, s.hash, node))
	}
	return pc.Create(ctx, key, s.ds, pods)
}

// newPod builds ds's pod for node: the template with the revision hash and
// generation labels, the daemon tolerations and node affinity to node.
func newPod(ds *appsv1.DaemonSet, hash, node string) *corev1.Pod {
	pod := controller.PodFromTemplate(&ds.Spec.Template, ds, kind, ds.Name+"-")
	pod.Labels = maps.Clone(pod.Labels)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	pod.Labels[TemplateGenerationLabel] = strconv.FormatInt(ds.Generation, 10)
	addTolerations(&pod.Spec)
	pod.Spec.Affinity = nodeAffinityFor(pod.Spec.Affinity, node)
	return pod
}
