package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// DefaultBinderName is the plugin's name.
const DefaultBinderName = "DefaultBinder"

// DefaultBinder binds through the pods/binding subresource, guarded by the
// pod's UID.
type DefaultBinder struct {
	h framework.Handle
}

// NewDefaultBinder is the plugin's factory.
func NewDefaultBinder(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &DefaultBinder{h: h}, nil
}

// Name implements framework.Plugin.
func (*DefaultBinder) Name() string { return DefaultBinderName }

// Bind implements framework.BindPlugin.
func (b *DefaultBinder) Bind(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeName string) *framework.Status {
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: nodeName},
	}
	if err := b.h.ClientSet().CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		return framework.AsStatus(err)
	}
	return nil
}
