package envvars

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ClientSource is a Source reading straight from the API server. An agent
// with informers can implement Source on its listers instead.
type ClientSource struct {
	Client kubernetes.Interface
}

// ConfigMap implements Source.
func (s ClientSource) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Secret implements Source.
func (s ClientSource) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Services implements Source.
func (s ClientSource) Services(ctx context.Context, namespace string) ([]*corev1.Service, error) {
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
