package job

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// Condition messages, upstream's.
const (
	msgBackoffLimit    = "Job has reached the specified backoff limit"
	msgDeadline        = "Job was active longer than specified deadline"
	msgCompletions     = "Reached expected number of succeeded pods"
	msgSuspended       = "Job suspended"
	msgResumed         = "Job resumed"
	reasonJobSuspended = "JobSuspended"
	reasonJobResumed   = "JobResumed"
)

// sync counts the pods of a Job that is not finished, decides its outcome,
// creates or deletes pods and writes its status.
func (c *Controller) sync(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod) (controller.Result, error) {
	now := c.cfg.Now()
	before := job.Status.DeepCopy()
	job, err := c.track(ctx, job, pods)
	if err != nil {
		return controller.Result{}, err
	}
	var active []*corev1.Pod
	var ready, terminating int32
	for _, p := range pods {
		switch {
		case controller.PodActive(p):
			active = append(active, p)
			if controller.PodReady(p) {
				ready++
			}
		case p.DeletionTimestamp != nil && podRunning(p):
			terminating++
		}
	}
	c.syncSuspended(job, now)
	var requeue time.Duration
	if findCondition(job, batchv1.JobFailureTarget) == nil && findCondition(job, batchv1.JobSuccessCriteriaMet) == nil {
		requeue = c.decide(job, pods, active, now)
	}
	satisfied := c.expectations.Satisfied(key)
	var manageErr error
	activeCount := int32(len(active))
	switch interim := interimCondition(job); {
	case interim != nil:
		if satisfied && len(active) > 0 {
			deleted, err := c.deletePods(ctx, key, job, active)
			activeCount -= int32(deleted)
			manageErr = err
		}
		if len(active) == 0 && terminating == 0 && c.settled(job, pods) {
			c.finish(job, interim, now)
		}
	case suspended(job):
		if satisfied && len(active) > 0 {
			deleted, err := c.deletePods(ctx, key, job, active)
			activeCount -= int32(deleted)
			manageErr = err
		}
	case satisfied:
		var delta int
		var after time.Duration
		delta, after, manageErr = c.manage(ctx, key, job, pods, active, now)
		activeCount += int32(delta)
		requeue = shorter(requeue, after)
	}
	job.Status.Active = activeCount
	job.Status.Ready = &ready
	job.Status.Terminating = &terminating
	if !equality.Semantic.DeepEqual(before, &job.Status) {
		if _, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
			return controller.Result{}, fmt.Errorf("update status of %s: %w", key, err)
		}
	}
	if manageErr != nil {
		return controller.Result{}, manageErr
	}
	return controller.Result{RequeueAfter: requeue}, nil
}

// decide sets the interim condition once the Job's outcome is known:
// FailureTarget over the backoff limit or past the deadline,
// SuccessCriteriaMet once enough pods succeeded. It returns when the
// deadline must be checked again (0: no deadline pending).
func (c *Controller) decide(job *batchv1.Job, pods, active []*corev1.Pod, now time.Time) time.Duration {
	st := &job.Status
	u := st.UncountedTerminatedPods
	failed := st.Failed + int32(len(u.Failed))
	if reason, msg, ok := c.podFailurePolicyVerdict(job, pods); ok {
		setCondition(job, batchv1.JobFailureTarget, reason, msg, now)
		return 0
	}
	if job.Spec.BackoffLimit != nil && failed > *job.Spec.BackoffLimit {
		setCondition(job, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit, now)
		return 0
	}
	var requeue time.Duration
	if job.Spec.ActiveDeadlineSeconds != nil && st.StartTime != nil && !suspended(job) {
		deadline := st.StartTime.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
		if !now.Before(deadline) {
			setCondition(job, batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadline, now)
			return 0
		}
		requeue = deadline.Sub(now)
	}
	if succeeded(job, active) {
		setCondition(job, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletions, now)
		return 0
	}
	return requeue
}

// succeeded reports whether the Job's counted successes meet its
// completions (for a work-queue Job: one success and nothing running).
func succeeded(job *batchv1.Job, active []*corev1.Pod) bool {
	st := &job.Status
	switch {
	case indexed(job):
		return len(parseIndexes(st.CompletedIndexes, completions(job))) >= completions(job)
	case job.Spec.Completions == nil:
		return st.Succeeded > 0 && len(active) == 0
	default:
		return st.Succeeded >= *job.Spec.Completions
	}
}

// settled reports whether every finished pod of the Job is counted: no
// uncounted UIDs and no pod left holding the tracking finalizer.
func (c *Controller) settled(job *batchv1.Job, pods []*corev1.Pod) bool {
	u := job.Status.UncountedTerminatedPods
	if u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	for _, p := range pods {
		if hasTrackingFinalizer(p) && !c.finalizerRemoved(p.UID) {
			return false
		}
	}
	return true
}

// finish adds the final condition matching the interim one.
func (c *Controller) finish(job *batchv1.Job, interim *batchv1.JobCondition, now time.Time) {
	if interim.Type == batchv1.JobSuccessCriteriaMet {
		setCondition(job, batchv1.JobComplete, interim.Reason, interim.Message, now)
		t := metav1.NewTime(now)
		job.Status.CompletionTime = &t
		c.recorder.Event(job, corev1.EventTypeNormal, ReasonCompleted, "Job completed")
		return
	}
	setCondition(job, batchv1.JobFailed, interim.Reason, interim.Message, now)
	c.recorder.Event(job, corev1.EventTypeWarning, interim.Reason, interim.Message)
}

// syncSuspended keeps the Suspended condition and startTime in step with
// spec.suspend: resuming restarts the activeDeadlineSeconds clock.
func (c *Controller) syncSuspended(job *batchv1.Job, now time.Time) {
	cond := findCondition(job, batchv1.JobSuspended)
	switch {
	case suspended(job) && (cond == nil || cond.Status != corev1.ConditionTrue):
		setCondition(job, batchv1.JobSuspended, reasonJobSuspended, msgSuspended, now)
		c.recorder.Event(job, corev1.EventTypeNormal, ReasonSuspended, msgSuspended)
	case !suspended(job) && cond != nil && cond.Status == corev1.ConditionTrue:
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, reasonJobResumed, msgResumed
		cond.LastProbeTime, cond.LastTransitionTime = metav1.NewTime(now), metav1.NewTime(now)
		t := metav1.NewTime(now)
		job.Status.StartTime = &t
		c.recorder.Event(job, corev1.EventTypeNormal, ReasonResumed, msgResumed)
	case !suspended(job) && job.Status.StartTime == nil:
		t := metav1.NewTime(now)
		job.Status.StartTime = &t
	}
}

func suspended(job *batchv1.Job) bool { return job.Spec.Suspend != nil && *job.Spec.Suspend }

// finished reports whether the Job has its final Complete or Failed
// condition.
func finished(job *batchv1.Job) bool {
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := findCondition(job, t); c != nil && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// interimCondition returns the True FailureTarget or SuccessCriteriaMet
// condition, or nil.
func interimCondition(job *batchv1.Job) *batchv1.JobCondition {
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet} {
		if c := findCondition(job, t); c != nil && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func findCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// setCondition sets condition t True with reason and message.
func setCondition(job *batchv1.Job, t batchv1.JobConditionType, reason, msg string, now time.Time) {
	c := batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	}
	if old := findCondition(job, t); old != nil {
		if old.Status == corev1.ConditionTrue {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return
	}
	job.Status.Conditions = append(job.Status.Conditions, c)
}

// shorter returns the smaller positive duration of a and b (0: none).
func shorter(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
