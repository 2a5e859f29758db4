package scheduler

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/queue"
)

// maxMessageLength bounds the failure message in events and conditions.
const maxMessageLength = 1024

// handleFailure requeues a pod whose cycle failed and tells the user: a
// FailedScheduling Warning event and the PodScheduled=False condition
// (reason Unschedulable when no node fits, SchedulerError otherwise), plus
// the nomination preemption made (nominated: nil leaves it as is).
func (s *Scheduler) handleFailure(ctx context.Context, fwk *framework.Framework, qi *queue.QueuedPodInfo, err error, nominated *string) {
	pod := qi.Pod
	reason := corev1.PodReasonUnschedulable
	var fitErr *framework.FitError
	switch {
	case errors.As(err, &fitErr):
		qi.UnschedulablePlugins = fitErr.Diagnosis.UnschedulablePlugins
	case errors.Is(err, framework.ErrNoNodesAvailable):
		qi.UnschedulablePlugins = nil
	default:
		qi.UnschedulablePlugins = nil
		reason = corev1.PodReasonSchedulerError
	}
	s.queue.AddUnschedulable(qi, nominated)
	msg := err.Error()
	if len(msg) > maxMessageLength {
		msg = msg[:maxMessageLength-3] + "..."
	}
	s.recorders[fwk.SchedulerName()].Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	cond := &corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	if !conditionChanged(pod, cond, nominated) {
		return
	}
	s.async.Add(1)
	s.workers.Go(func() {
		defer s.async.Done()
		cond.LastTransitionTime = metav1.Now()
		if err := framework.PatchPodStatus(ctx, s.client, pod, cond, nominated); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			s.log.Warn("scheduler: update pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	})
}

// conditionChanged reports whether the pod's status would change.
func conditionChanged(pod *corev1.Pod, cond *corev1.PodCondition, nominated *string) bool {
	if nominated != nil && *nominated != pod.Status.NominatedNodeName {
		return true
	}
	cur := framework.PodCondition(pod, corev1.PodScheduled)
	return cur == nil || cur.Status != cond.Status || cur.Reason != cond.Reason || cur.Message != cond.Message
}
