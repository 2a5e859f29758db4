package cronjob

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// nextSlack is added to the requeue delay so the schedule time has surely
// passed when the key comes back.
const nextSlack = 100 * time.Millisecond

// schedule starts a Job for the most recent unmet schedule time, honouring
// suspend, startingDeadlineSeconds and concurrencyPolicy, and returns when
// to look again.
func (c *Controller) schedule(ctx context.Context, cj *batchv1.CronJob) (controller.Result, error) {
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return controller.Result{}, nil
	}
	loc := time.Local
	if cj.Spec.TimeZone != nil {
		l, err := time.LoadLocation(*cj.Spec.TimeZone)
		if err != nil {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonUnknownTimeZone, "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return controller.Result{}, nil
		}
		loc = l
	}
	sched, err := ParseSchedule(cj.Spec.Schedule)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonInvalidSchedule, "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return controller.Result{}, nil
	}
	now := c.now().In(loc)
	scheduled, missed := c.mostRecent(cj, sched, now)
	next := sched.Next(now)
	requeue := controller.Result{}
	if !next.IsZero() {
		requeue.RequeueAfter = next.Sub(now) + nextSlack
	}
	if missed > maxMissedSchedulesToLog {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonTooManyMissed,
			"too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if scheduled.IsZero() {
		return requeue, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonMissSchedule, "Missed scheduled time to start a job: %s", scheduled.Format(time.RFC1123Z))
		return requeue, nil
	}
	name := jobName(cj, scheduled)
	if _, err := c.jobs.Jobs(cj.Namespace).Get(name); err == nil {
		// Already started (the status write may have been lost).
		cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
		return requeue, nil
	}
	// About to act: only on the CronJob as stored, never a stale copy.
	if err := c.ensureCurrent(ctx, cj); err != nil {
		return controller.Result{}, err
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, ReasonJobAlreadyActive, "Not starting job because prior execution is running and concurrency policy is Forbid")
			return requeue, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range cj.Status.Active {
			j, err := c.jobs.Jobs(ref.Namespace).Get(ref.Name)
			if err != nil || j.UID != ref.UID {
				continue
			}
			if !c.deleteJob(ctx, cj, j) {
				return controller.Result{}, fmt.Errorf("replace job %s/%s: delete failed", j.Namespace, j.Name)
			}
		}
		cj.Status.Active = nil
	}
	job, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, newJob(cj, name, scheduled), metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Made by an earlier pass whose status write was lost, or a name
		// taken by someone else; either way this time is handled.
		cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
		return requeue, nil
	case err != nil:
		if !controller.NamespaceGoing(err) {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating job: %v", err)
		}
		return controller.Result{}, fmt.Errorf("create job %s/%s: %w", cj.Namespace, name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created job %s", job.Name)
	cj.Status.Active = append(cj.Status.Active, jobRef(job))
	cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
	return requeue, nil
}

// mostRecent returns the latest schedule time after the last one handled
// (or the CronJob's creation, or now minus startingDeadlineSeconds if
// later) and not after now, and how many such times there were.
func (c *Controller) mostRecent(cj *batchv1.CronJob, sched *Schedule, now time.Time) (time.Time, int) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if from := now.Add(-time.Duration(*d) * time.Second); from.After(earliest) {
			earliest = from
		}
	}
	var last time.Time
	missed := 0
	for t := sched.Next(earliest.In(now.Location())); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		last = t
		missed++
		if missed > 100_000 { // a runaway clock; the latest few do not matter
			break
		}
	}
	return last, missed
}

// jobName is "<cronjob>-<scheduled time in unix minutes>", as upstream, so
// one schedule time can never start two Jobs.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return cj.Name + "-" + strconv.FormatInt(scheduled.Unix()/60, 10)
}

// newJob builds the Job of cj for a schedule time.
func newJob(cj *batchv1.CronJob, name string, scheduled time.Time) *batchv1.Job {
	t := &cj.Spec.JobTemplate
	annotations := maps.Clone(t.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: cj.Namespace, Name: name,
			Labels: maps.Clone(t.Labels), Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, kind)},
		},
		Spec: *t.Spec.DeepCopy(),
	}
}
