// Package autoscaling defines autoscaling/v2 horizontalpodautoscalers.
package autoscaling

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the autoscaling resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
			"HorizontalPodAutoscaler", true,
			func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
			func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			func(r *registry.Resource) {
				r.ShortNames, r.Categories, r.HasStatus = []string{"hpa"}, []string{"all"}, true
			}),
	}
}
