// Package autoscaling defines horizontalpodautoscalers, stored as
// autoscaling/v2 and served as v2 and v1.
package autoscaling

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the autoscaling resources: v2 first (the preferred version).
func Resources() []*registry.Resource {
	edit := func(r *registry.Resource) {
		r.ShortNames, r.Categories, r.HasStatus = []string{"hpa"}, []string{"all"}, true
		r.StoragePrefix = "/registry/autoscaling/horizontalpodautoscalers/"
	}
	newV2 := func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }
	newV2List := func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} }
	v2 := registry.Plain(schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
		"HorizontalPodAutoscaler", true, newV2, newV2List, edit).WithTable(hpaTable)
	v1 := registry.Plain(schema.GroupVersionResource{Group: "autoscaling", Version: "v1", Resource: "horizontalpodautoscalers"},
		"HorizontalPodAutoscaler", true, newV2, newV2List, func(r *registry.Resource) {
			edit(r)
			r.Conversion = &registry.Conversion{
				StorageKind: autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"),
				New:         func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} },
				NewList:     func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} },
				ToStorage: func(o runtime.Object) (runtime.Object, error) {
					return v1ToV2(o.(*autoscalingv1.HorizontalPodAutoscaler))
				},
				FromStorage: func(o runtime.Object) (runtime.Object, error) {
					return v2ToV1(o.(*autoscalingv2.HorizontalPodAutoscaler))
				},
			}
		}).WithTable(hpaTable)
	return []*registry.Resource{v2, v1}
}
