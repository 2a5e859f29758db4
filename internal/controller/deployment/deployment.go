// Package deployment rolls Deployments out through ReplicaSets, one
// ReplicaSet per pod template ("revision"), named <deployment>-<hash of the
// template>.
//
//	Deployment key ─► claim ReplicaSets (adopt / release by selector)
//	   being deleted ─────────► status only
//	   paused ────────────────► scale proportionally, clean up history, status
//	   replicas changed ──────► scale proportionally, status
//	   Recreate ──────────────► old RSs to 0, wait for their pods to go,
//	                             then new RS to spec.replicas
//	   RollingUpdate ─────────► new RS up to replicas+maxSurge (total),
//	                             old RSs down while >= replicas-maxUnavailable
//	                             stay available; history cleanup when complete
//	   every path ends in status: counts summed over RSs, Available and
//	   Progressing conditions (ProgressDeadlineExceeded after the deadline)
//
// Glossary: the new RS is the one whose template equals the Deployment's
// (ignoring the pod-template-hash label); all others are old. A scaling
// event is a change of spec.replicas seen through the desired-replicas
// annotation of the RSs. The revision is a counter kept in the
// deployment.kubernetes.io/revision annotation of the RSs and the
// Deployment; `kubectl rollout undo` copies an old RS's template back into
// the Deployment, which makes that RS the new one with the next revision.
package deployment

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

var (
	kind   = appsv1.SchemeGroupVersion.WithKind("Deployment")
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
)

// Controller is the Deployment controller.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	sets        appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	recorder    record.EventRecorder
	runner      *controller.Runner
	log         *slog.Logger
	now         func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	dInf := c.Informers.Apps().V1().Deployments()
	rsInf := c.Informers.Apps().V1().ReplicaSets()
	podInf := c.Informers.Core().V1().Pods()
	ctl := &Controller{
		client: c.Client, deployments: dInf.Lister(), sets: rsInf.Lister(), pods: podInf.Lister(),
		recorder: c.Recorder("deployment-controller"), log: c.Logger("deployment"), now: time.Now,
	}
	ctl.runner = controller.NewRunner("deployment", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced)
	dInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	rsInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(),
		Get: func(ns, name string) (metav1.Object, error) {
			return ctl.deployments.Deployments(ns).Get(name)
		},
		Orphan: ctl.deploymentsSelecting,
	})
	// A Recreate rollout waits for the old pods to be gone.
	podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: ctl.podDeleted})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// deploymentsSelecting returns the keys of the Deployments whose selector
// matches an orphan ReplicaSet.
func (c *Controller) deploymentsSelecting(rs metav1.Object) []string {
	ds, err := c.deployments.Deployments(rs.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	return controller.KeysSelecting(ds, func(d *appsv1.Deployment) *metav1.LabelSelector { return d.Spec.Selector }, rs)
}

// podDeleted enqueues the Recreate Deployment owning a deleted pod's RS.
func (c *Controller) podDeleted(obj any) {
	pod, ok := controller.MetaOf(obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != rsKind.Kind {
		return
	}
	rs, err := c.sets.ReplicaSets(pod.GetNamespace()).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dref := metav1.GetControllerOf(rs)
	if dref == nil || dref.Kind != kind.Kind {
		return
	}
	d, err := c.deployments.Deployments(rs.Namespace).Get(dref.Name)
	if err != nil || d.UID != dref.UID || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return
	}
	c.runner.Enqueue(controller.Key(d.Namespace, d.Name))
}

// Reconcile converges the Deployment named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	d := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		// Selecting everything would adopt every pod in the namespace.
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := c.client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return controller.Result{}, err
		}
		return controller.Result{}, nil
	}
	rsList, err := c.claimReplicaSets(ctx, d, selector)
	if err != nil {
		return controller.Result{}, err
	}
	if d.DeletionTimestamp != nil {
		return controller.Result{}, c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return controller.Result{}, err
	}
	if d.Spec.Paused {
		return controller.Result{}, c.sync(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return controller.Result{}, err
	}
	if scaling {
		return controller.Result{}, c.sync(ctx, d, rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return c.rolloutRecreate(ctx, d, rsList, c.podsByReplicaSet(d, rsList))
	default:
		return c.rolloutRolling(ctx, d, rsList)
	}
}

// claimReplicaSets adopts and releases ReplicaSets of d and returns the
// ones it owns.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, selector labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.sets.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claimer := &controller.Claimer{
		Owner: d, OwnerKind: kind, Selector: selector,
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		},
		Patch: func(ctx context.Context, ns, name string, patch []byte) error {
			_, err := c.client.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return controller.Claim(ctx, claimer, all)
}

// podsByReplicaSet groups the pods of d's ReplicaSets by RS UID, terminating
// pods included.
func (c *Controller) podsByReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) map[types.UID][]*corev1.Pod {
	out := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		out[rs.UID] = nil
	}
	pods, _ := c.pods.Pods(d.Namespace).List(labels.Everything())
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, ok := out[ref.UID]; ok {
			out[ref.UID] = append(out[ref.UID], p)
		}
	}
	return out
}
