// Package replicaset keeps the number of running pods of each ReplicaSet at
// spec.replicas: it adopts matching orphan pods, releases pods that stopped
// matching, creates missing pods in slow-start batches and deletes surplus
// ones in the order that hurts least, and reports counts and the
// ReplicaFailure condition in status.
//
//	ReplicaSet key ─► claim pods (adopt / release by selector)
//	                  expectations met? ── no ──► only update status
//	                  │ yes
//	                  diff = active pods - spec.replicas
//	                  diff < 0: create -diff pods (1, 2, 4, ... per batch)
//	                  diff > 0: delete diff pods, unscheduled / pending / not ready / newest first
//	                  update status (replicas, ready, available, conditions)
package replicaset

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// BurstReplicas bounds the creates or deletes of one reconcile.
const BurstReplicas = 500

// Event reasons, upstream's.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

var kind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// Controller is the ReplicaSet controller.
type Controller struct {
	client       kubernetes.Interface
	sets         appslisters.ReplicaSetLister
	pods         corelisters.PodLister
	recorder     record.EventRecorder
	expectations *controller.Expectations
	runner       *controller.Runner
	log          *slog.Logger
	now          func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	rsInf := c.Informers.Apps().V1().ReplicaSets()
	podInf := c.Informers.Core().V1().Pods()
	ctl := &Controller{
		client: c.Client, sets: rsInf.Lister(), pods: podInf.Lister(),
		recorder: c.Recorder("replicaset-controller"), expectations: controller.NewExpectations(),
		log: c.Logger("replicaset"), now: time.Now,
	}
	ctl.runner = controller.NewRunner("replicaset", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(rsInf.Informer().HasSynced, podInf.Informer().HasSynced)
	rsInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	podInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(),
		Get: func(ns, name string) (metav1.Object, error) {
			return ctl.sets.ReplicaSets(ns).Get(name)
		},
		Orphan:       ctl.setsSelecting,
		Expectations: ctl.expectations,
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// setsSelecting returns the keys of the replica sets whose selector matches
// an orphan pod.
func (c *Controller) setsSelecting(pod metav1.Object) []string {
	sets, err := c.sets.ReplicaSets(pod.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	return controller.KeysSelecting(sets, func(rs *appsv1.ReplicaSet) *metav1.LabelSelector { return rs.Spec.Selector }, pod)
}

// Reconcile converges the ReplicaSet named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.sets.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Delete(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	rs := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		// Validation prevents this; nothing can be done until the spec changes.
		c.log.Warn("invalid selector", "replicaset", key, "err", err)
		return controller.Result{}, nil
	}
	needsSync := c.expectations.Satisfied(key)
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}
	var active []*corev1.Pod
	for _, p := range all {
		if controller.PodActive(p) {
			active = append(active, p)
		}
	}
	pods, err := c.claim(ctx, rs, selector, active)
	if err != nil {
		return controller.Result{}, err
	}
	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, rs, pods)
	}
	now := c.now()
	rs, err = c.updateStatus(ctx, rs, computeStatus(rs, pods, manageErr, now))
	if err != nil {
		return controller.Result{}, err
	}
	if manageErr != nil {
		return controller.Result{}, manageErr
	}
	// Pods that are ready but not yet available become available on their
	// own; come back when the first of them does.
	if after := controller.NextAvailable(pods, rs.Spec.MinReadySeconds, now); after > 0 {
		return controller.Result{RequeueAfter: after}, nil
	}
	return controller.Result{}, nil
}

// claim adopts and releases pods of rs and returns the ones it owns.
func (c *Controller) claim(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := &controller.Claimer{
		Owner: rs, OwnerKind: kind, Selector: selector,
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		},
		Patch: controller.PatchPods(c.client),
	}
	owned, err := controller.Claim(ctx, claimer, pods)
	if err != nil {
		return nil, fmt.Errorf("claim pods of %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return owned, nil
}
