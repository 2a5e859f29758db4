// Package coordination defines coordination.k8s.io/v1 leases.
package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the coordination.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, "Lease", true,
			func() runtime.Object { return &coordinationv1.Lease{} },
			func() runtime.Object { return &coordinationv1.LeaseList{} }, nil).WithTable(leaseTable),
	}
}
