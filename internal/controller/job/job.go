// Package job runs the pods of each Job until enough of them succeed, or
// the Job fails: over its backoffLimit, or past its activeDeadlineSeconds.
//
//	Job key ─► finished? ── yes ──► drop tracking finalizers of its pods, done
//	           │ no
//	           claim pods (adopt / release by selector)
//	           track: finished pods with the finalizer ─► status.uncountedTerminatedPods
//	                  remove their finalizers ─► move them to succeeded / failed
//	           decide: over backoffLimit / deadline ─► FailureTarget
//	                   enough successes           ─► SuccessCriteriaMet
//	           interim condition set? delete active pods; once none is left,
//	                   add Complete / Failed and completionTime
//	           else suspended? delete active pods
//	           else create missing pods (after the failure backoff), delete surplus
//	           update status (active, ready, terminating, conditions)
//
// Glossary:
//
//   - tracking finalizer: batch.kubernetes.io/job-tracking, put on every pod
//     the controller creates, so a finished pod cannot vanish before it is
//     counted. It is removed once the pod's UID is recorded in
//     status.uncountedTerminatedPods; the UID then moves to the counters.
//     Both steps are written to the API, so a restart loses no count.
//   - interim condition: FailureTarget or SuccessCriteriaMet, set as soon as
//     the outcome is known; the final Failed or Complete condition follows
//     when no pod of the Job is left running, as upstream (1.31+) does.
package job

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// Event reasons, upstream's.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
	ReasonCompleted        = "Completed"
	ReasonSuspended        = "Suspended"
	ReasonResumed          = "Resumed"
)

// Backoff of pod re-creation after failures, upstream's defaults.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 6 * time.Minute
)

// BurstPods bounds the creates or deletes of one reconcile.
const BurstPods = 500

var kind = batchv1.SchemeGroupVersion.WithKind("Job")

// Config tunes the controller; the zero value is upstream's behaviour.
type Config struct {
	// BackoffBase is the delay before re-creating a pod after the first
	// failure; it doubles per further failure. Default 10s.
	BackoffBase time.Duration
	// BackoffMax caps that delay; default 6m.
	BackoffMax time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Controller is the Job controller.
type Controller struct {
	client       kubernetes.Interface
	jobs         batchlisters.JobLister
	pods         corelisters.PodLister
	recorder     record.EventRecorder
	expectations *controller.Expectations
	runner       *controller.Runner
	log          *slog.Logger
	cfg          Config

	// mu guards unfinalized.
	mu sync.Mutex
	// unfinalized holds the UIDs of pods whose tracking finalizer this
	// controller removed but whose update the pod cache may not show yet,
	// so they are not counted twice.
	unfinalized map[types.UID]struct{}
}

// New builds the controller on c's informers.
func New(c *controller.Context, cfg Config) *Controller {
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	jobInf := c.Informers.Batch().V1().Jobs()
	podInf := c.Informers.Core().V1().Pods()
	ctl := &Controller{
		client: c.Client, jobs: jobInf.Lister(), pods: podInf.Lister(),
		recorder: c.Recorder("job-controller"), expectations: controller.NewExpectations(),
		log: c.Logger("job"), cfg: cfg, unfinalized: map[types.UID]struct{}{},
	}
	ctl.runner = controller.NewRunner("job", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(jobInf.Informer().HasSynced, podInf.Informer().HasSynced)
	jobInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	podInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(),
		Get: func(ns, name string) (metav1.Object, error) {
			return ctl.jobs.Jobs(ns).Get(name)
		},
		Orphan:       ctl.jobsSelecting,
		Expectations: ctl.expectations,
	})
	// Pods still holding the tracking finalizer of a Job that is gone (or
	// replaced) reach no owner through the handler above; their Job's key
	// is enqueued so the finalizer is removed.
	podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ctl.enqueueTracked(obj) },
		UpdateFunc: func(_, obj any) { ctl.enqueueTracked(obj) },
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

func (c *Controller) enqueueTracked(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !hasTrackingFinalizer(pod) {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == kind.Kind {
		if j, err := c.jobs.Jobs(pod.Namespace).Get(ref.Name); apierrors.IsNotFound(err) || (err == nil && j.UID != ref.UID) {
			c.runner.Enqueue(controller.Key(pod.Namespace, ref.Name))
		}
	}
}

// jobsSelecting returns the keys of the Jobs whose selector matches an
// orphan pod.
func (c *Controller) jobsSelecting(pod metav1.Object) []string {
	jobs, err := c.jobs.Jobs(pod.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	return controller.KeysSelecting(jobs, func(j *batchv1.Job) *metav1.LabelSelector { return j.Spec.Selector }, pod)
}

// Reconcile converges the Job named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Delete(key)
		return controller.Result{}, c.releaseStale(ctx, ns, name, "")
	}
	if err != nil {
		return controller.Result{}, err
	}
	job := cached.DeepCopy()
	if err := c.releaseStale(ctx, ns, name, job.UID); err != nil {
		return controller.Result{}, err
	}
	if job.Spec.ManagedBy != nil && *job.Spec.ManagedBy != batchv1.JobControllerName {
		return controller.Result{}, nil // another controller's Job
	}
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		c.log.Warn("invalid selector", "job", key, "err", err)
		return controller.Result{}, nil
	}
	all, err := c.pods.Pods(ns).List(selector)
	if err != nil {
		return controller.Result{}, err
	}
	if finished(job) || job.DeletionTimestamp != nil {
		// Nothing more to count: let every pod go.
		return controller.Result{}, c.removeFinalizers(ctx, ownedBy(all, job.UID))
	}
	pods, err := c.claim(ctx, job, selector, all)
	if err != nil {
		return controller.Result{}, err
	}
	return c.sync(ctx, key, job, pods)
}

// releaseStale removes the tracking finalizer from pods that name the Job
// ns/name as controller but not with uid (the Job is gone or replaced).
func (c *Controller) releaseStale(ctx context.Context, ns, name string, uid types.UID) error {
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var stale []*corev1.Pod
	for _, p := range all {
		ref := metav1.GetControllerOf(p)
		if ref != nil && ref.Kind == kind.Kind && ref.Name == name && ref.UID != uid && hasTrackingFinalizer(p) {
			stale = append(stale, p)
		}
	}
	return c.removeFinalizers(ctx, stale)
}

// claim adopts and releases pods of job and returns the ones it owns.
func (c *Controller) claim(ctx context.Context, job *batchv1.Job, selector labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := &controller.Claimer{
		Owner: job, OwnerKind: kind, Selector: selector,
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		},
		Patch: controller.PatchPods(c.client),
	}
	owned, err := controller.Claim(ctx, claimer, pods)
	if err != nil {
		return nil, fmt.Errorf("claim pods of %s/%s: %w", job.Namespace, job.Name, err)
	}
	return owned, nil
}

// ownedBy returns the pods whose controllerRef has uid.
func ownedBy(pods []*corev1.Pod, uid types.UID) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == uid {
			out = append(out, p)
		}
	}
	return out
}
