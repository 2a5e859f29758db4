// Package discoveryapi defines discovery.k8s.io/v1 endpointslices.
package discoveryapi

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the discovery.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, "EndpointSlice", true,
			func() runtime.Object { return &discoveryv1.EndpointSlice{} },
			func() runtime.Object { return &discoveryv1.EndpointSliceList{} }, nil).WithTable(endpointSliceTable),
	}
}
