// Package rootcacertpublisher keeps the ConfigMap kube-root-ca.crt, whose
// key ca.crt is the API server's serving CA, in every active namespace, so
// pods can verify the API server (the service-account token volume
// projects it as ca.crt).
package rootcacertpublisher

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// Names of the published ConfigMap, upstream's.
const (
	ConfigMapName = "kube-root-ca.crt"
	Key           = "ca.crt"
	// DescriptionAnnotation says what the ConfigMap is for.
	DescriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Controller publishes the root CA; its keys are namespace names.
type Controller struct {
	client     kubernetes.Interface
	rootCA     []byte
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	// cmFactory watches only the kube-root-ca.crt ConfigMaps; the
	// controller starts it itself.
	cmFactory informers.SharedInformerFactory
	runner    *controller.Runner
}

// New builds the controller publishing rootCA (PEM) on c's informers.
func New(c *controller.Context, rootCA []byte) *Controller {
	nsInf := c.Informers.Core().V1().Namespaces()
	cmFactory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", ConfigMapName).String()
	}))
	cmInf := cmFactory.Core().V1().ConfigMaps()
	ctl := &Controller{
		client: c.Client, rootCA: rootCA,
		namespaces: nsInf.Lister(), configMaps: cmInf.Lister(), cmFactory: cmFactory,
	}
	ctl.runner = controller.NewRunner("root-ca-cert-publisher", ctl, controller.RunnerOptions{Workers: 1, Log: c.Logger("root-ca-cert-publisher")})
	ctl.runner.WaitFor(nsInf.Informer().HasSynced, cmInf.Informer().HasSynced)
	nsInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	cmInf.Informer().AddEventHandler(controller.EnqueueHandler(namespaceOf{ctl.runner}, nil))
	return ctl
}

// namespaceOf enqueues a ConfigMap's namespace (keys are "ns/name").
type namespaceOf struct{ q controller.Enqueuer }

func (n namespaceOf) Enqueue(key string) {
	ns, _ := controller.SplitKey(key)
	n.q.Enqueue(ns)
}

func (n namespaceOf) EnqueueAfter(key string, d time.Duration) {
	ns, _ := controller.SplitKey(key)
	n.q.EnqueueAfter(ns, d)
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.cmFactory.Start(ctx.Done())
	defer c.cmFactory.Shutdown()
	return c.runner.Run(ctx)
}

// Reconcile makes the namespace named key hold an up-to-date
// kube-root-ca.crt.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	if len(c.rootCA) == 0 {
		return controller.Result{}, nil // nothing to publish
	}
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
	cm, err := c.configMaps.ConfigMaps(key).Get(ConfigMapName)
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.client.CoreV1().ConfigMaps(key).Create(ctx, c.desired(nil), metav1.CreateOptions{})
	case err != nil:
		return controller.Result{}, err
	case cm.Data[Key] == string(c.rootCA) && len(cm.Data) == 1 && cm.Annotations[DescriptionAnnotation] == description:
		return controller.Result{}, nil
	default:
		_, err = c.client.CoreV1().ConfigMaps(key).Update(ctx, c.desired(cm), metav1.UpdateOptions{})
	}
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		// A concurrent create brings an event that requeues the namespace.
		return controller.Result{}, nil
	case controller.NamespaceGoing(err):
		return controller.Result{}, nil
	}
	return controller.Result{}, fmt.Errorf("publish %s in %s: %w", ConfigMapName, key, err)
}

// desired is cur (or a new ConfigMap) with exactly the CA and the
// description.
func (c *Controller) desired(cur *corev1.ConfigMap) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName}}
	if cur != nil {
		cm = cur.DeepCopy()
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = description
	cm.Data = map[string]string{Key: string(c.rootCA)}
	cm.BinaryData = nil
	return cm
}
