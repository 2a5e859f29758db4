package objcache

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Direct reads the same objects as a Cache straight from the API server,
// a request per read (for tests and tools without watches).
type Direct struct {
	Client kubernetes.Interface
}

// ConfigMap returns namespace/name.
func (s Direct) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Secret returns namespace/name.
func (s Direct) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Services returns the services of namespace.
func (s Direct) Services(ctx context.Context, namespace string) ([]*corev1.Service, error) {
	list, err := s.Client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Service, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
