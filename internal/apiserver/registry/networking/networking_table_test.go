package networking

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func byKind(kind string) *registry.Resource {
	for _, r := range Resources() {
		if r.Kind == kind {
			return r
		}
	}
	return nil
}

func TestNetworkingTables(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-20 * time.Minute))}
	}
	ingCols := []string{"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"}
	nginx, group := "nginx", "k8s.example.com"
	rules := func(hosts ...string) []networkingv1.IngressRule {
		var out []networkingv1.IngressRule
		for _, h := range hosts {
			out = append(out, networkingv1.IngressRule{Host: h})
		}
		return out
	}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "ingress without class, hosts or address", Res: byKind("Ingress"), WantColumns: ingCols,
			Obj:       &networkingv1.Ingress{ObjectMeta: m("web"), Spec: networkingv1.IngressSpec{Rules: rules("")}},
			WantCells: []interface{}{"web", "<none>", "*", "", "80", "20m"},
		},
		{
			Name: "ingress with TLS, many hosts and load balancer addresses", Res: byKind("Ingress"), WantColumns: ingCols,
			Obj: &networkingv1.Ingress{ObjectMeta: m("web"),
				Spec: networkingv1.IngressSpec{IngressClassName: &nginx, TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}},
					Rules: rules("a.example.com", "", "b.example.com", "c.example.com", "d.example.com")},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
					{IP: "10.0.0.9"}, {Hostname: "lb.example.com"}, {IP: "10.0.0.1"}}}}},
			WantCells: []interface{}{"web", "nginx", "a.example.com,b.example.com,c.example.com + 2 more...", "10.0.0.1,10.0.0.9,lb.example.com", "80, 443", "20m"},
		},
		{
			Name: "ingress class with parameters", Res: byKind("IngressClass"), WantColumns: []string{"NAME", "CONTROLLER", "PARAMETERS", "AGE"},
			Obj: &networkingv1.IngressClass{ObjectMeta: m("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "IngressParameters", Name: "external"}}},
			WantCells: []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external", "20m"},
		},
		{
			Name: "ingress class without parameters", Res: byKind("IngressClass"), WantColumns: []string{"NAME", "CONTROLLER", "PARAMETERS", "AGE"},
			Obj:       &networkingv1.IngressClass{ObjectMeta: m("plain"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/ctrl"}},
			WantCells: []interface{}{"plain", "example.com/ctrl", "<none>", "20m"},
		},
		{
			Name: "network policy for all pods", Res: byKind("NetworkPolicy"), WantColumns: []string{"NAME", "POD-SELECTOR", "AGE"},
			Obj:       &networkingv1.NetworkPolicy{ObjectMeta: m("deny-all")},
			WantCells: []interface{}{"deny-all", "<none>", "20m"},
		},
		{
			Name: "network policy selecting pods", Res: byKind("NetworkPolicy"), WantColumns: []string{"NAME", "POD-SELECTOR", "AGE"},
			Obj: &networkingv1.NetworkPolicy{ObjectMeta: m("db"), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "db"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}}},
			WantCells: []interface{}{"db", "app=db,tier in (a,b)", "20m"},
		},
	})
}
