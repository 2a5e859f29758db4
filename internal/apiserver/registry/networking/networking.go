// Package networking defines the networking.k8s.io/v1 resources.
package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: r}
}

// Resources lists the networking.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(gvr("ingressclasses"), "IngressClass", false,
			func() runtime.Object { return &networkingv1.IngressClass{} },
			func() runtime.Object { return &networkingv1.IngressClassList{} }, nil).WithTable(ingressClassTable),
		registry.Plain(gvr("ingresses"), "Ingress", true,
			func() runtime.Object { return &networkingv1.Ingress{} },
			func() runtime.Object { return &networkingv1.IngressList{} },
			func(r *registry.Resource) {
				r.ShortNames, r.HasStatus, r.TracksGeneration = []string{"ing"}, true, true
			}).WithTable(ingressTable),
		registry.Plain(gvr("networkpolicies"), "NetworkPolicy", true,
			func() runtime.Object { return &networkingv1.NetworkPolicy{} },
			func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
			func(r *registry.Resource) { r.ShortNames, r.TracksGeneration = []string{"netpol"}, true }).WithTable(networkPolicyTable),
	}
}
