// Package ttlafterfinished deletes finished Jobs ttlSecondsAfterFinished
// after they finished, with background propagation so their pods go too.
//
//	Job key ─► ttl set and Complete / Failed? ── no ──► nothing
//	           │ yes
//	           expired? ── no ──► come back when it expires
//	           │ yes
//	           re-read the Job from the API server, check again,
//	           delete it (UID and resourceVersion preconditions)
package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// Config tunes the controller.
type Config struct {
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Controller is the TTL-after-finished controller.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	runner *controller.Runner
	log    *slog.Logger
	now    func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context, cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	inf := c.Informers.Batch().V1().Jobs()
	ctl := &Controller{client: c.Client, jobs: inf.Lister(), log: c.Logger("ttlafterfinished"), now: cfg.Now}
	ctl.runner = controller.NewRunner("ttlafterfinished", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(inf.Informer().HasSynced)
	inf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
		j, ok := m.(*batchv1.Job)
		return ok && j.DeletionTimestamp == nil && j.Spec.TTLSecondsAfterFinished != nil && finishedAt(j) != nil
	}))
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile deletes the Job named key once its TTL after finishing expired.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if left, due := c.remaining(job); !due {
		return controller.Result{RequeueAfter: left}, nil
	}
	// The cache may be stale (the TTL may have changed): decide on a fresh
	// read, and delete only that version.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, fmt.Errorf("get job %s: %w", key, err)
	}
	left, due := c.remaining(fresh)
	if !due {
		return controller.Result{RequeueAfter: left}, nil
	}
	policy := metav1.DeletePropagationBackground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, fmt.Errorf("delete expired job %s: %w", key, err)
	}
	c.log.Debug("deleted finished job", "job", key)
	return controller.Result{}, nil
}

// remaining reports whether job is due for deletion, and otherwise how
// long until it is (0 with due false: nothing to do).
func (c *Controller) remaining(job *batchv1.Job) (time.Duration, bool) {
	if job.DeletionTimestamp != nil || job.Spec.TTLSecondsAfterFinished == nil {
		return 0, false
	}
	at := finishedAt(job)
	if at == nil {
		return 0, false
	}
	expire := at.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second)
	left := expire.Sub(c.now())
	if left <= 0 {
		return 0, true
	}
	return left, false
}

// finishedAt is when the Job got its Complete or Failed condition, or nil.
func finishedAt(job *batchv1.Job) *time.Time {
	for _, cond := range job.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			t := cond.LastTransitionTime.Time
			if job.Status.CompletionTime != nil && cond.Type == batchv1.JobComplete {
				t = job.Status.CompletionTime.Time
			}
			return &t
		}
	}
	return nil
}
