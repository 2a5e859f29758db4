package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// computeStatus counts set's pods: created, ready, available, and at the
// current and update revisions. A RollingUpdate whose pods are all updated
// and ready makes the update revision current.
func computeStatus(set *appsv1.StatefulSet, pods []*corev1.Pod, current, update string, collisionCount *int32, now time.Time) appsv1.StatefulSetStatus {
	st := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    current,
		UpdateRevision:     update,
		CollisionCount:     collisionCount,
		Conditions:         set.Status.Conditions,
	}
	for _, pod := range pods {
		created := pod.Status.Phase != ""
		if created {
			st.Replicas++
		}
		if pod.Status.Phase == corev1.PodRunning && controller.PodReady(pod) {
			st.ReadyReplicas++
			if controller.PodAvailable(pod, set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if created && !terminating(pod) {
			if pod.Labels[appsv1.ControllerRevisionHashLabelKey] == current {
				st.CurrentReplicas++
			}
			if pod.Labels[appsv1.ControllerRevisionHashLabelKey] == update {
				st.UpdatedReplicas++
			}
		}
	}
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		st.UpdatedReplicas == st.Replicas && st.ReadyReplicas == st.Replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	return st
}

// updateStatus writes st unless set already reports it; a conflict is
// retried by the runner against the newer object.
func (c *Controller) updateStatus(ctx context.Context, set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) error {
	if apiequality.Semantic.DeepEqual(set.Status, st) {
		return nil
	}
	upd := set.DeepCopy()
	upd.Status = st
	if _, err := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}
