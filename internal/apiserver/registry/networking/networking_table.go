package networking

import (
	"fmt"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// hostsShown is how many rule hosts the HOSTS cell lists before "+ N more...".
const hostsShown = 3

var ingressTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
	{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
	{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
	{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
	registry.AgeColumn,
}, func(in *networkingv1.Ingress, now time.Time) []interface{} {
	class := "<none>"
	if in.Spec.IngressClassName != nil {
		class = *in.Spec.IngressClassName
	}
	ports := "80"
	if len(in.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []interface{}{class, ingressHosts(in.Spec.Rules), ingressAddress(in.Status.LoadBalancer.Ingress), ports,
		registry.Age(in.CreationTimestamp, now)}
})

// ingressHosts lists the rule hosts until three are listed ("*" when no
// rule names a host); when rules remain after that it says how many rules
// there are beyond three.
func ingressHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == hostsShown {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	s := strings.Join(hosts, ",")
	if more {
		s += fmt.Sprintf(" + %d more...", len(rules)-hostsShown)
	}
	return s
}

// ingressAddress lists the distinct load balancer IPs (or hostnames), sorted.
func ingressAddress(points []networkingv1.IngressLoadBalancerIngress) string {
	seen := map[string]bool{}
	var out []string
	for _, p := range points {
		v := registry.StringOr(p.IP, p.Hostname)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

var ingressClassTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
	{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
	registry.AgeColumn,
}, func(c *networkingv1.IngressClass, now time.Time) []interface{} {
	params := "<none>"
	if p := c.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return []interface{}{c.Spec.Controller, params, registry.Age(c.CreationTimestamp, now)}
})

var networkPolicyTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
	registry.AgeColumn,
}, func(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
	return []interface{}{metav1.FormatLabelSelector(&np.Spec.PodSelector), registry.Age(np.CreationTimestamp, now)}
})
