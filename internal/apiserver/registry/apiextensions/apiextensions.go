// Package apiextensions defines apiextensions.k8s.io/v1
// customresourcedefinitions (stored only; serving custom resources comes
// with the custom resources work).
package apiextensions

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the apiextensions.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
			"CustomResourceDefinition", false,
			func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} },
			func() runtime.Object { return &apiextensionsv1.CustomResourceDefinitionList{} },
			func(r *registry.Resource) {
				r.ShortNames, r.Categories, r.HasStatus = []string{"crd", "crds"}, []string{"api-extensions"}, true
			}),
	}
}
