// Package scheduling defines scheduling.k8s.io/v1 priorityclasses.
package scheduling

import (
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the scheduling.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}, "PriorityClass", false,
			func() runtime.Object { return &schedulingv1.PriorityClass{} },
			func() runtime.Object { return &schedulingv1.PriorityClassList{} },
			func(r *registry.Resource) { r.ShortNames = []string{"pc"} }).WithTable(priorityClassTable),
	}
}
