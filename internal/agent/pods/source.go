package pods

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// apiSource is the envvars.Source reading from the API server on demand:
// environment sources are read when a container starts, which is rare
// enough not to need a cache.
type apiSource struct{ client kubernetes.Interface }

// ConfigMap implements envvars.Source.
func (s apiSource) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Secret implements envvars.Source.
func (s apiSource) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Services implements envvars.Source: the services of namespace and of
// the default namespace.
func (s apiSource) Services(ctx context.Context, namespace string) ([]*corev1.Service, error) {
	var out []*corev1.Service
	namespaces := []string{namespace}
	if namespace != metav1.NamespaceDefault {
		namespaces = append(namespaces, metav1.NamespaceDefault)
	}
	for _, ns := range namespaces {
		list, err := s.client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}
