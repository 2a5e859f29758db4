package defaults

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Service fills type ClusterIP, sessionAffinity None (or the ClientIP
// timeout), port protocol TCP, targetPort = port, traffic policies, and
// keeps clusterIP/clusterIPs in sync. Once a cluster IP is set (by the user
// or the allocator), it fills ipFamilyPolicy and ipFamilies from it; IP
// allocation itself happens elsewhere.
func Service(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.SessionAffinity == corev1.ServiceAffinityNone {
		spec.SessionAffinityConfig = nil
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		clientIPAffinity(spec)
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	external := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if external && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && spec.Type != corev1.ServiceTypeExternalName {
		spec.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			spec.AllocateLoadBalancerNodePorts = ptrTo(true)
		}
		lbIngressIPMode(&svc.Status.LoadBalancer)
	}
	if spec.Type != corev1.ServiceTypeExternalName {
		clusterIPs(spec)
	}
}

// clientIPAffinity fills the default ClientIP affinity timeout (3 hours).
func clientIPAffinity(spec *corev1.ServiceSpec) {
	cfg := spec.SessionAffinityConfig
	if cfg != nil && cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil {
		return
	}
	spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
		ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds)},
	}
}

func lbIngressIPMode(st *corev1.LoadBalancerStatus) {
	for i := range st.Ingress {
		if ing := &st.Ingress[i]; ing.IP != "" && ing.IPMode == nil {
			ing.IPMode = ptrTo(corev1.LoadBalancerIPModeVIP)
		}
	}
}

// clusterIPs syncs clusterIP with clusterIPs and derives the IP family
// fields from the assigned IPs. Headless services with a selector are
// single-stack; without one they ask for dual-stack, like upstream on a
// single-stack cluster.
func clusterIPs(spec *corev1.ServiceSpec) {
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	} else if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	if spec.ClusterIP == "" {
		return
	}
	if spec.ClusterIP == corev1.ClusterIPNone {
		if spec.IPFamilyPolicy == nil {
			policy := corev1.IPFamilyPolicySingleStack
			if len(spec.Selector) == 0 {
				policy = corev1.IPFamilyPolicyRequireDualStack
			}
			spec.IPFamilyPolicy = &policy
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
		return
	}
	if spec.IPFamilyPolicy == nil {
		policy := corev1.IPFamilyPolicySingleStack
		if len(spec.ClusterIPs) > 1 {
			policy = corev1.IPFamilyPolicyRequireDualStack
		}
		spec.IPFamilyPolicy = &policy
	}
	if len(spec.IPFamilies) == 0 {
		for _, ip := range spec.ClusterIPs {
			spec.IPFamilies = append(spec.IPFamilies, ipFamilyOf(ip))
		}
	}
}

func ipFamilyOf(ip string) corev1.IPFamily {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}
