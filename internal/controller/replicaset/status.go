package replicaset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiffhq/skiff/internal/controller"
)

// computeStatus derives rs's status from the pods it owns and the outcome
// of the last create/delete round.
func computeStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := rs.Status.DeepCopy()
	st.ObservedGeneration = rs.Generation
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	templateLabels := labels.SelectorFromSet(rs.Spec.Template.Labels)
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if controller.PodReady(p) {
			st.ReadyReplicas++
			if controller.PodAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	failure := condition(st, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := ""
		switch diff := len(pods) - int(ptrOr(rs.Spec.Replicas, 1)); {
		case diff < 0:
			reason = ReasonFailedCreate
		case diff > 0:
			reason = ReasonFailedDelete
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		var keep []appsv1.ReplicaSetCondition
		for _, c := range st.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				keep = append(keep, c)
			}
		}
		st.Conditions = keep
	}
	return *st
}

func condition(st *appsv1.ReplicaSetStatus, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// updateStatus writes st unless it is what rs already reports; on a
// conflict it retries once against the latest object.
func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
	for attempt := 0; ; attempt++ {
		if apiequality.Semantic.DeepEqual(rs.Status, st) {
			return rs, nil
		}
		upd := rs.DeepCopy()
		upd.Status = st
		out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			return out, nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return nil, fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		fresh, gerr := c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, gerr)
		}
		// The status was computed for rs's generation; keep reporting that.
		rs = fresh
	}
}
