package server

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/apiserver"
	"github.com/skiffhq/skiff/internal/apiserver/admission/namespacelifecycle"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var (
	namespacesGVR = corev1.SchemeGroupVersion.WithResource("namespaces")
	servicesGVR   = corev1.SchemeGroupVersion.WithResource("services")
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates the namespaces and the default/kubernetes service every
// cluster has; it is idempotent.
func bootstrap(ctx context.Context, api *apiserver.Server, o Options, port int) error {
	ns := api.Store(namespacesGVR)
	for _, name := range systemNamespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := ns.Create(ctx, "", obj, registry.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	if err := createSystemPriorityClasses(ctx, api); err != nil {
		return fmt.Errorf("create system priority classes: %w", err)
	}
	cidr, _ := netip.ParsePrefix(o.ServiceCIDR)
	first := cidr.Masked().Addr().Next().String()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: first,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(port))}},
			SessionAffinity: corev1.ServiceAffinityNone,
			Type:            corev1.ServiceTypeClusterIP,
		},
	}
	services := api.Store(servicesGVR)
	if _, err := services.Get(ctx, "default", "kubernetes"); err == nil {
		return nil
	}
	if _, err := services.Create(ctx, "default", svc, registry.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create kubernetes service: %w", err)
	}
	return nil
}

// namespaceGetter reads namespaces for admission straight from the store.
func namespaceGetter(api *apiserver.Server) namespacelifecycle.GetNamespace {
	return func(ctx context.Context, name string) (*corev1.Namespace, error) {
		obj, err := api.Store(namespacesGVR).GetCached(ctx, "", name)
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.Namespace), nil
	}
}

// slogErrorLog routes net/http's internal errors (TLS handshakes) to slog at
// debug level, where they belong.
func slogErrorLog() *log.Logger {
	return slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)
}
