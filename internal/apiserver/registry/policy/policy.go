// Package policy defines policy/v1 poddisruptionbudgets.
package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the policy/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
			"PodDisruptionBudget", true,
			func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
			func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
			func(r *registry.Resource) {
				r.ShortNames, r.HasStatus, r.TracksGeneration = []string{"pdb"}, true, true
			}).WithTable(pdbTable),
	}
}
