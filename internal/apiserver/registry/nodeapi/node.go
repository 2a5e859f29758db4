// Package nodeapi defines node.k8s.io/v1 runtimeclasses.
package nodeapi

import (
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the node.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "node.k8s.io", Version: "v1", Resource: "runtimeclasses"}, "RuntimeClass", false,
			func() runtime.Object { return &nodev1.RuntimeClass{} },
			func() runtime.Object { return &nodev1.RuntimeClassList{} }, nil).WithTable(runtimeClassTable),
	}
}
