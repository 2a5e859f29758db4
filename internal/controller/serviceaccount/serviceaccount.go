// Package serviceaccount keeps a "default" ServiceAccount in every active
// namespace, recreating it when deleted.
package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller"
)

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// Controller is the service account controller; its keys are namespace names.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	runner     *controller.Runner
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	nsInf := c.Informers.Core().V1().Namespaces()
	saInf := c.Informers.Core().V1().ServiceAccounts()
	ctl := &Controller{client: c.Client, namespaces: nsInf.Lister(), accounts: saInf.Lister()}
	// One worker, like upstream: creates are rare and cheap.
	ctl.runner = controller.NewRunner("serviceaccount", ctl, controller.RunnerOptions{Workers: 1, Log: c.Logger("serviceaccount")})
	ctl.runner.WaitFor(nsInf.Informer().HasSynced, saInf.Informer().HasSynced)
	nsInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Only a deleted default account needs action.
		DeleteFunc: func(obj any) {
			if m, ok := controller.MetaOf(obj); ok && m.GetName() == DefaultName {
				ctl.runner.Enqueue(m.GetNamespace())
			}
		},
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile ensures the namespace named key has a default ServiceAccount.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, err := c.namespaces.Get(key)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.Status.Phase != corev1.NamespaceActive || ns.DeletionTimestamp != nil {
		return controller.Result{}, nil
	}
	if _, err := c.accounts.ServiceAccounts(key).Get(DefaultName); err == nil {
		return controller.Result{}, nil
	} else if !apierrors.IsNotFound(err) {
		return controller.Result{}, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}
	_, err = c.client.CoreV1().ServiceAccounts(key).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return controller.Result{}, nil
	case controller.NamespaceGoing(err):
		return controller.Result{}, nil // the namespace is going away
	default:
		return controller.Result{}, fmt.Errorf("create default service account in %s: %w", key, err)
	}
}
