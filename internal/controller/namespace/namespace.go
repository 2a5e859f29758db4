// Package namespace empties namespaces that are being deleted: it deletes
// every object of every served namespaced resource in them, reports
// progress in the namespace's conditions like upstream, and removes the
// "kubernetes" finalizer (through the finalize subresource) once nothing is
// left, which lets the API server remove the namespace.
//
//	namespace Terminating ─► discover namespaced resources (verbs delete+list)
//	      ▲                  deletecollection (or delete each) per resource
//	      │                  list again: what remains, which finalizers hold it
//	      │                  update conditions
//	      └── requeue ◄───── something remains
//	                         nothing remains ─► finalize: drop "kubernetes"
package namespace

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"

	"github.com/skiffhq/skiff/internal/controller"
)

// FinalizerKubernetes is the spec.finalizers token this controller owns.
const FinalizerKubernetes = corev1.FinalizerKubernetes

// Requeue bounds for a namespace whose content is still going away. Upstream
// waits half of the estimate; skiff polls at least every 15s (and no more
// often than every 2s), because nothing else wakes it up.
const (
	minRequeue = 2 * time.Second
	maxRequeue = 15 * time.Second
	// finalizerEstimate is how long to wait when content is held by
	// finalizers (upstream's estimate for the garbage collector).
	finalizerEstimate = 15 * time.Second
)

// Controller is the namespace controller; its keys are namespace names.
type Controller struct {
	client     kubernetes.Interface
	metadata   metadata.Interface
	discovery  discovery.DiscoveryInterface
	namespaces corelisters.NamespaceLister
	runner     *controller.Runner
	now        func() time.Time
}

// New builds the controller on c's namespace informer.
func New(c *controller.Context) *Controller {
	inf := c.Informers.Core().V1().Namespaces()
	ctl := &Controller{
		client: c.Client, metadata: c.Metadata, discovery: c.Discovery,
		namespaces: inf.Lister(), now: time.Now,
	}
	ctl.runner = controller.NewRunner("namespace", ctl, controller.RunnerOptions{Workers: c.Workers, Log: c.Logger("namespace")})
	ctl.runner.WaitFor(inf.Informer().HasSynced)
	inf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
		return m.GetDeletionTimestamp() != nil
	}))
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile empties and finalizes the namespace named key if it is being
// deleted.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cached, err := c.namespaces.Get(key)
	if apierrors.IsNotFound(err) || (err == nil && cached.DeletionTimestamp == nil) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	// Act on the latest state, not the cache: finalizing twice is harmless
	// but deleting content of a namespace that was recreated is not.
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.DeletionTimestamp == nil || !hasFinalizer(ns) {
		return controller.Result{}, nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		if ns, err = c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return controller.Result{}, fmt.Errorf("mark namespace %s terminating: %w", key, err)
		}
	}
	wait, err := c.deleteContent(ctx, ns)
	if err != nil {
		return controller.Result{}, err
	}
	if wait > 0 {
		return controller.Result{RequeueAfter: min(max(wait/2, minRequeue), maxRequeue)}, nil
	}
	return controller.Result{}, c.finalize(ctx, key)
}

// finalize removes the kubernetes token from spec.finalizers.
func (c *Controller) finalize(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !hasFinalizer(ns) {
			return nil
		}
		var keep []corev1.FinalizerName
		for _, f := range ns.Spec.Finalizers {
			if f != FinalizerKubernetes {
				keep = append(keep, f)
			}
		}
		ns.Spec.Finalizers = keep
		_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return nil
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == FinalizerKubernetes {
			return true
		}
	}
	return false
}
