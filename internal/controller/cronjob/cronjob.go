// Package cronjob creates Jobs from CronJobs on their schedule.
//
//	CronJob key ─► own Jobs (controllerRef) ─► status.active: drop finished
//	               and vanished Jobs, note lastSuccessfulTime
//	               delete finished Jobs beyond the history limits
//	               suspended? ── yes ──► done
//	               most recent unmet schedule time since lastScheduleTime
//	               (or creation), within startingDeadlineSeconds
//	                 none: come back at the next one
//	               concurrencyPolicy: Forbid skips while a Job runs,
//	                 Replace deletes the running Jobs first
//	               create Job <cronjob>-<scheduled unix minutes>,
//	               record it in status.active and lastScheduleTime
//
// Times are computed in spec.timeZone, or the controller's local zone when
// unset, as upstream. The clock is injectable (Config.Now) for tests.
package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// Event reasons, upstream's.
const (
	ReasonSuccessfulCreate  = "SuccessfulCreate"
	ReasonFailedCreate      = "FailedCreate"
	ReasonSuccessfulDelete  = "SuccessfulDelete"
	ReasonFailedDelete      = "FailedDelete"
	ReasonSawCompletedJob   = "SawCompletedJob"
	ReasonMissSchedule      = "MissSchedule"
	ReasonJobAlreadyActive  = "JobAlreadyActive"
	ReasonTooManyMissed     = "TooManyMissedTimes"
	ReasonUnknownTimeZone   = "UnknownTimeZone"
	ReasonInvalidSchedule   = "InvalidSchedule"
	maxMissedSchedulesToLog = 100
)

var kind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Config tunes the controller.
type Config struct {
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	recorder record.EventRecorder
	runner   *controller.Runner
	log      *slog.Logger
	now      func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context, cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cjInf := c.Informers.Batch().V1().CronJobs()
	jobInf := c.Informers.Batch().V1().Jobs()
	ctl := &Controller{
		client: c.Client, cronJobs: cjInf.Lister(), jobs: jobInf.Lister(),
		recorder: c.Recorder("cronjob-controller"), log: c.Logger("cronjob"), now: cfg.Now,
	}
	ctl.runner = controller.NewRunner("cronjob", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(cjInf.Informer().HasSynced, jobInf.Informer().HasSynced)
	cjInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	jobInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(),
		Get: func(ns, name string) (metav1.Object, error) {
			return ctl.cronJobs.CronJobs(ns).Get(name)
		},
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile converges the CronJob named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	cj := cached.DeepCopy()
	all, err := c.jobs.Jobs(ns).List(labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}
	var jobs []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			jobs = append(jobs, j)
		}
	}
	syncErr := c.syncActive(ctx, cj, jobs)
	var result controller.Result
	if cj.DeletionTimestamp == nil && syncErr == nil {
		c.cleanupHistory(ctx, cj, jobs)
		result, syncErr = c.schedule(ctx, cj)
	}
	if !equality.Semantic.DeepEqual(cached.Status, cj.Status) {
		if err := c.writeStatus(ctx, cached, cj); err != nil {
			return controller.Result{}, fmt.Errorf("update status of %s: %w", key, err)
		}
	}
	return result, syncErr
}

// writeStatus stores cj's status. A conflict caused only by a change of
// spec or metadata (the status is still the one this pass started from)
// is retried once on the live object, so the record of a Job just
// created is not lost to an unrelated edit; otherwise the conflict is
// returned and the key retried from fresh state.
func (c *Controller) writeStatus(ctx context.Context, cached, cj *batchv1.CronJob) error {
	api := c.client.BatchV1().CronJobs(cj.Namespace)
	_, err := api.UpdateStatus(ctx, cj, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		return err
	}
	live, getErr := api.Get(ctx, cj.Name, metav1.GetOptions{})
	if getErr != nil || live.UID != cj.UID || !equality.Semantic.DeepEqual(live.Status, cached.Status) {
		return err
	}
	live.Status = cj.Status
	_, err = api.UpdateStatus(ctx, live, metav1.UpdateOptions{})
	return err
}

// ensureCurrent returns nil when the cached cj is the stored CronJob, and
// an ErrRetry error when the cache is behind. Creating or deleting Jobs on
// a stale status (one without the last schedule time or an active Job a
// previous pass recorded) would start a Job for a time already handled.
func (c *Controller) ensureCurrent(ctx context.Context, cj *batchv1.CronJob) error {
	live, err := c.client.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	if live.UID != cj.UID || live.ResourceVersion != cj.ResourceVersion {
		return fmt.Errorf("%w: cronjob %s/%s cache is behind (resourceVersion %s, stored %s)",
			controller.ErrRetry, cj.Namespace, cj.Name, cj.ResourceVersion, live.ResourceVersion)
	}
	return nil
}

// syncActive makes status.active the unfinished Jobs the CronJob owns and
// records when the latest successful one finished. A recorded Job missing
// from the cache is looked up live; when that lookup fails the Job is kept
// and the error returned, so the key is retried rather than left stale.
func (c *Controller) syncActive(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) error {
	owned := map[types.UID]*batchv1.Job{}
	for _, j := range jobs {
		owned[j.UID] = j
	}
	var active []corev1.ObjectReference
	var lookupErr error
	for _, ref := range cj.Status.Active {
		j := owned[ref.UID]
		switch {
		case j == nil:
			// Gone, or just created and not in the cache yet: ask.
			got, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err == nil && got.UID == ref.UID && finishedType(got) == "" {
				active = append(active, ref)
			} else if err != nil && !apierrors.IsNotFound(err) {
				active = append(active, ref) // unknown: keep it, look again
				lookupErr = fmt.Errorf("get job %s/%s: %w", ref.Namespace, ref.Name, err)
			}
		case finishedType(j) != "":
			c.recorder.Eventf(cj, corev1.EventTypeNormal, ReasonSawCompletedJob, "Saw completed job: %s, condition: %s", j.Name, finishedType(j))
		default:
			active = append(active, ref)
		}
	}
	for _, j := range jobs {
		if finishedType(j) == "" && j.DeletionTimestamp == nil && !slices.ContainsFunc(active, func(r corev1.ObjectReference) bool { return r.UID == j.UID }) {
			active = append(active, jobRef(j))
		}
		if finishedType(j) == batchv1.JobComplete && j.Status.CompletionTime != nil {
			if t := cj.Status.LastSuccessfulTime; t == nil || t.Before(j.Status.CompletionTime) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
			}
		}
	}
	slices.SortFunc(active, func(a, b corev1.ObjectReference) int { return compareStrings(a.Name, b.Name) })
	cj.Status.Active = active
	return lookupErr
}

// cleanupHistory deletes the oldest finished Jobs beyond the successful
// and failed history limits.
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch finishedType(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	c.deleteOldest(ctx, cj, succeeded, cj.Spec.SuccessfulJobsHistoryLimit)
	c.deleteOldest(ctx, cj, failed, cj.Spec.FailedJobsHistoryLimit)
}

func (c *Controller) deleteOldest(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job, limit *int32) {
	if limit == nil || len(jobs) <= int(*limit) {
		return
	}
	slices.SortFunc(jobs, func(a, b *batchv1.Job) int { return startOf(a).Compare(startOf(b)) })
	for _, j := range jobs[:len(jobs)-int(*limit)] {
		c.deleteJob(ctx, cj, j)
	}
}

// startOf orders Jobs: their startTime, else creation.
func startOf(j *batchv1.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}

// deleteJob deletes a Job of cj with background propagation.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) bool {
	policy := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &j.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, ReasonFailedDelete, "Deleted job: %v", err)
		return false
	}
	if err == nil {
		c.recorder.Eventf(cj, corev1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted job %s", j.Name)
	}
	return true
}

// finishedType is Complete or Failed for a finished Job, else "".
func finishedType(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: "Job", APIVersion: batchv1.SchemeGroupVersion.String(),
		Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
