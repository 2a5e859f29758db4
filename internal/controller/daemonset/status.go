package daemonset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// computeStatus counts nodes: those that should run a pod (desired), of
// them those that have one (current), whose oldest pod is ready,
// available and up to date; and nodes with a pod that should have none
// (misscheduled).
func computeStatus(s *state) appsv1.DaemonSetStatus {
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: s.ds.Generation,
		CollisionCount:     s.collisions,
		Conditions:         s.ds.Status.Conditions,
	}
	for _, node := range s.nodes {
		var pods []*corev1.Pod
		for _, p := range s.byNode[node.Name] {
			finished := p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
			if !(finished && p.DeletionTimestamp != nil) {
				pods = append(pods, p)
			}
		}
		if !placeOn(s.ds, node).shouldRun {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		oldest := pods[0] // podsByNode sorted them
		if controller.PodReady(oldest) {
			st.NumberReady++
			if s.available(oldest) {
				st.NumberAvailable++
			}
		}
		if s.updated(oldest) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}

// updateStatus writes st unless ds already reports it; a conflict is
// retried by the runner against the newer object.
func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, st appsv1.DaemonSetStatus) error {
	if apiequality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	upd := ds.DeepCopy()
	upd.Status = st
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}
