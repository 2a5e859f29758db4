package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

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
	if err := b.post(ctx, binding); err != nil {
		return framework.AsStatus(err)
	}
	return nil
}

// post issues POST .../pods/NAME/binding. It is the request Pods().Bind
// sends with empty CreateOptions, without converting those options to
// query parameters for every pod (a reflective conversion that showed in
// profiles). Clientsets without a REST client (fakes) use Bind.
func (b *DefaultBinder) post(ctx context.Context, binding *corev1.Binding) error {
	core := b.h.ClientSet().CoreV1()
	if rc, ok := core.RESTClient().(*rest.RESTClient); ok && rc != nil {
		return rc.Post().Namespace(binding.Namespace).Resource("pods").Name(binding.Name).SubResource("binding").
			Body(binding).Do(ctx).Error()
	}
	return core.Pods(binding.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
}
