package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// Default --service-node-port-range of a Kubernetes API server.
	minNodePort = 30000
	maxNodePort = 32767
	// kubeletPort may not be exposed by a LoadBalancer.
	kubeletPort = 10250
	// maxClientIPAffinitySeconds bounds sessionAffinityConfig timeouts (one day).
	maxClientIPAffinitySeconds = 86400
)

var (
	supportedServiceTypes = []corev1.ServiceType{
		corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort,
	}
	supportedIPFamilyPolicies = []corev1.IPFamilyPolicy{
		corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack,
	}
)

// ValidateService validates a Service on create. Names are DNS-1035 labels;
// node ports must lie in 30000-32767.
func ValidateService(svc *corev1.Service) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&svc.ObjectMeta, true, apimachineryvalidation.NameIsDNS1035Label)
	spec := &svc.Spec
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		allErrs = append(allErrs, field.Required(specPath.Child("ports"), ""))
	}
	allErrs = append(allErrs, validateServiceTypeRules(svc)...)
	allErrs = append(allErrs, validateServicePorts(svc)...)
	if spec.Selector != nil {
		allErrs = append(allErrs, validateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	allErrs = append(allErrs, validateSessionAffinity(spec)...)
	allErrs = append(allErrs, validateClusterIPFields(svc)...)
	for i, ip := range spec.ExternalIPs {
		allErrs = append(allErrs, utilvalidation.IsValidIP(specPath.Child("externalIPs").Index(i), ip)...)
	}
	allErrs = append(allErrs, validateLoadBalancerFields(spec)...)
	allErrs = append(allErrs, validateTrafficPolicies(svc)...)
	return allErrs
}

// isHeadless reports clusterIP None (after clusterIPs has been synced).
func isHeadless(svc *corev1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// externallyAccessible reports services that get traffic from outside.
func externallyAccessible(svc *corev1.Service) bool {
	t := svc.Spec.Type
	return t == corev1.ServiceTypeLoadBalancer || t == corev1.ServiceTypeNodePort ||
		(t == corev1.ServiceTypeClusterIP && len(svc.Spec.ExternalIPs) > 0)
}

// validateServiceTypeRules checks the type and the rules tied to it.
func validateServiceTypeRules(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	var allErrs field.ErrorList
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadless(svc) {
			allErrs = append(allErrs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0],
				fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
		if spec.Type == corev1.ServiceTypeLoadBalancer {
			for i, p := range spec.Ports {
				if p.Port == kubeletPort {
					allErrs = append(allErrs, field.Invalid(specPath.Child("ports").Index(i), p.Port, fmt.Sprintf("may not expose port %v externally since it is used by kubelet", kubeletPort)))
				}
			}
		}
	case corev1.ServiceTypeExternalName:
		allErrs = append(allErrs, validateExternalName(spec)...)
	case "":
		allErrs = append(allErrs, field.Required(specPath.Child("type"), ""))
	case corev1.ServiceTypeClusterIP:
	default:
		allErrs = append(allErrs, field.NotSupported(specPath.Child("type"), spec.Type, supportedServiceTypes))
	}
	return allErrs
}

func validateExternalName(spec *corev1.ServiceSpec) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.ClusterIPs) > 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
	}
	if len(spec.IPFamilies) > 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
	}
	if spec.IPFamilyPolicy != nil {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
	}
	cname := strings.TrimSuffix(spec.ExternalName, ".")
	if cname == "" {
		return append(allErrs, field.Required(specPath.Child("externalName"), ""))
	}
	return append(allErrs, validateDNS1123Subdomain(cname, specPath.Child("externalName"))...)
}

// validateServicePorts checks each port and uniqueness of names, ports and
// node ports, and the node port range.
func validateServicePorts(svc *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	portsPath := specPath.Child("ports")
	names := sets.New[string]()
	ports := sets.New[string]()
	nodePorts := sets.New[string]()
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		idxPath := portsPath.Index(i)
		allErrs = append(allErrs, validateServicePort(sp, len(svc.Spec.Ports) > 1, names, idxPath)...)
		allErrs = append(allErrs, validateNodePort(svc.Spec.Type, sp.NodePort, idxPath.Child("nodePort"))...)
		if sp.NodePort != 0 {
			key := fmt.Sprintf("%s/%d", sp.Protocol, sp.NodePort)
			if nodePorts.Has(key) {
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("nodePort"), sp.NodePort))
			}
			nodePorts.Insert(key)
		}
		key := fmt.Sprintf("%s/%d", sp.Protocol, sp.Port)
		if ports.Has(key) {
			allErrs = append(allErrs, field.Duplicate(idxPath, corev1.ServicePort{Protocol: sp.Protocol, Port: sp.Port}))
		}
		ports.Insert(key)
	}
	return allErrs
}

func validateServicePort(sp *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case requireName && sp.Name == "":
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	case sp.Name != "":
		allErrs = append(allErrs, validateDNS1123Label(sp.Name, fldPath.Child("name"))...)
		if names.Has(sp.Name) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Child("name"), sp.Name))
		}
		names.Insert(sp.Name)
	}
	allErrs = append(allErrs, invalidEach(fldPath.Child("port"), sp.Port, utilvalidation.IsValidPortNum(int(sp.Port)))...)
	allErrs = append(allErrs, validateProtocol(sp.Protocol, fldPath.Child("protocol"))...)
	allErrs = append(allErrs, validatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		allErrs = append(allErrs, validateQualifiedName(*sp.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return allErrs
}

// validateNodePort forbids node ports on ClusterIP services and requires
// them to be in range otherwise. The range message is the one upstream's
// allocator returns.
func validateNodePort(t corev1.ServiceType, port int32, fldPath *field.Path) field.ErrorList {
	switch {
	case port == 0:
		return nil
	case t == corev1.ServiceTypeClusterIP:
		return field.ErrorList{field.Forbidden(fldPath, "may not be used when `type` is 'ClusterIP'")}
	case port < minNodePort || port > maxNodePort:
		return field.ErrorList{field.Invalid(fldPath, port, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", minNodePort, maxNodePort))}
	}
	return nil
}

func validateSessionAffinity(spec *corev1.ServiceSpec) field.ErrorList {
	p := specPath.Child("sessionAffinity")
	cfgPath := specPath.Child("sessionAffinityConfig")
	switch spec.SessionAffinity {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			return field.ErrorList{field.Forbidden(cfgPath, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone))}
		}
	case corev1.ServiceAffinityClientIP:
		return validateClientIPAffinity(spec.SessionAffinityConfig, cfgPath)
	default:
		return field.ErrorList{field.NotSupported(p, spec.SessionAffinity, []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone})}
	}
	return nil
}

func validateClientIPAffinity(cfg *corev1.SessionAffinityConfig, fldPath *field.Path) field.ErrorList {
	when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
	switch {
	case cfg == nil:
		return field.ErrorList{field.Required(fldPath, when)}
	case cfg.ClientIP == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP"), when)}
	case cfg.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP", "timeoutSeconds"), when)}
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
		return field.ErrorList{field.Invalid(fldPath.Child("clientIP", "timeoutSeconds"), t,
			fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
	}
	return nil
}

// validateClusterIPFields checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy and how they relate.
func validateClusterIPFields(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var allErrs field.ErrorList
	ipsPath := specPath.Child("clusterIPs")
	switch {
	case spec.ClusterIP != "" && len(spec.ClusterIPs) == 0:
		allErrs = append(allErrs, field.Required(ipsPath, ""))
	case spec.ClusterIP != "" && spec.ClusterIPs[0] != spec.ClusterIP:
		allErrs = append(allErrs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
	case spec.ClusterIP == "" && len(spec.ClusterIPs) != 0:
		allErrs = append(allErrs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	allErrs = append(allErrs, validateIPFamilies(spec)...)
	ipErrs := validateClusterIPList(spec.ClusterIPs, ipsPath)
	allErrs = append(allErrs, ipErrs...)
	if len(ipErrs) != 0 {
		return allErrs
	}
	if len(spec.ClusterIPs) == 2 && !isDualStack(spec.ClusterIPs[0], spec.ClusterIPs[1]) {
		allErrs = append(allErrs, field.Invalid(ipsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
	}
	if isHeadless(svc) {
		return allErrs
	}
	for i, ip := range spec.ClusterIPs {
		if i >= len(spec.IPFamilies) {
			break
		}
		fam := spec.IPFamilies[i]
		if fam == corev1.IPv4Protocol && !isIPv4(ip) {
			allErrs = append(allErrs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
		}
		if fam == corev1.IPv6Protocol && isIPv4(ip) {
			allErrs = append(allErrs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
		}
	}
	return allErrs
}

func validateIPFamilies(spec *corev1.ServiceSpec) field.ErrorList {
	var allErrs field.ErrorList
	famPath := specPath.Child("ipFamilies")
	seen := sets.New[corev1.IPFamily]()
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			allErrs = append(allErrs, field.NotSupported(famPath.Index(i), f, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}))
		}
		if seen.Has(f) {
			allErrs = append(allErrs, field.Duplicate(famPath.Index(i), f))
		}
		seen.Insert(f)
	}
	if p := spec.IPFamilyPolicy; p != nil && !sets.New(supportedIPFamilyPolicies...).Has(*p) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p, supportedIPFamilyPolicies))
	}
	return allErrs
}

// validateClusterIPList checks that each cluster IP is valid; "None" is
// allowed only as the single value.
func validateClusterIPList(ips []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, ip := range ips {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(ips) > 1 {
				allErrs = append(allErrs, field.Invalid(fldPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		allErrs = append(allErrs, utilvalidation.IsValidIP(fldPath.Index(i), ip)...)
	}
	if len(ips) > 2 {
		allErrs = append(allErrs, field.Invalid(fldPath, ips, "may only hold up to 2 values"))
	}
	return allErrs
}

func validateLoadBalancerFields(spec *corev1.ServiceSpec) field.ErrorList {
	var allErrs field.ErrorList
	isLB := spec.Type == corev1.ServiceTypeLoadBalancer
	if len(spec.LoadBalancerSourceRanges) > 0 {
		p := specPath.Child("LoadBalancerSourceRanges") // upstream's capitalisation
		if !isLB {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, r := range spec.LoadBalancerSourceRanges {
			allErrs = append(allErrs, utilvalidation.IsValidCIDR(p.Index(i), strings.TrimSpace(r))...)
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && !isLB {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if isLB && spec.AllocateLoadBalancerNodePorts == nil {
		allErrs = append(allErrs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	if spec.LoadBalancerClass != nil {
		if !isLB {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
		} else {
			allErrs = append(allErrs, validateQualifiedName(*spec.LoadBalancerClass, specPath.Child("loadBalancerClass"))...)
		}
	}
	return allErrs
}

// validateTrafficPolicies checks externalTrafficPolicy, healthCheckNodePort
// and internalTrafficPolicy.
func validateTrafficPolicies(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	var allErrs field.ErrorList
	etp := specPath.Child("externalTrafficPolicy")
	switch {
	case !externallyAccessible(svc) && spec.ExternalTrafficPolicy != "":
		allErrs = append(allErrs, field.Invalid(etp, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	case externallyAccessible(svc) && spec.ExternalTrafficPolicy == "":
		allErrs = append(allErrs, field.Required(etp, ""))
	case externallyAccessible(svc) && spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster &&
		spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
		allErrs = append(allErrs, field.NotSupported(etp, spec.ExternalTrafficPolicy, []corev1.ServiceExternalTrafficPolicy{
			corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}))
	}
	needsHealthCheck := spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if spec.HealthCheckNodePort != 0 {
		hp := specPath.Child("healthCheckNodePort")
		if !needsHealthCheck {
			allErrs = append(allErrs, field.Invalid(hp, spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		} else {
			allErrs = append(allErrs, invalidEach(hp, spec.HealthCheckNodePort, utilvalidation.IsValidPortNum(int(spec.HealthCheckNodePort)))...)
		}
	}
	itp := specPath.Child("internalTrafficPolicy")
	switch p := spec.InternalTrafficPolicy; {
	case p == nil && (spec.Type == corev1.ServiceTypeClusterIP || spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer):
		allErrs = append(allErrs, field.Required(itp, "must be specified"))
	case p != nil && *p != corev1.ServiceInternalTrafficPolicyCluster && *p != corev1.ServiceInternalTrafficPolicyLocal:
		allErrs = append(allErrs, field.NotSupported(itp, *p, []corev1.ServiceInternalTrafficPolicy{
			corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
	}
	return allErrs
}

// ValidateServiceUpdate validates a Service update. Allocated cluster IPs
// and IP families may not change (except when switching to or from
// ExternalName or headless), only be added or released.
func ValidateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	allErrs := validateMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateClusterIPsUpdate(svc, old)...)
	allErrs = append(allErrs, validateIPFamiliesUpdate(svc, old)...)
	if old.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(svc.Spec.LoadBalancerClass, old.Spec.LoadBalancerClass, specPath.Child("loadBalancerClass"))...)
	}
	return append(allErrs, ValidateService(svc)...)
}

func validateClusterIPsUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName || (isHeadless(svc) && isHeadless(old)) {
		return nil
	}
	newIPs, oldIPs := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
	p := specPath.Child("clusterIPs")
	var allErrs field.ErrorList
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				allErrs = append(allErrs, field.Invalid(p.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			allErrs = append(allErrs, field.Invalid(p.Index(0), newIPs, "primary clusterIP can not be unset"))
		} else if newIPs[0] != oldIPs[0] {
			allErrs = append(allErrs, field.Invalid(p.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && deref(svc.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
			allErrs = append(allErrs, field.Invalid(p.Index(0), newIPs, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	case len(oldIPs) > 0 && newIPs[0] != oldIPs[0]:
		allErrs = append(allErrs, field.Invalid(p.Index(0), newIPs, "may not change once set"))
	}
	return allErrs
}

func validateIPFamiliesUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName || isHeadless(svc) || isHeadless(old) {
		return nil
	}
	newFams, oldFams := svc.Spec.IPFamilies, old.Spec.IPFamilies
	p := specPath.Child("ipFamilies").Index(0)
	switch {
	case len(oldFams) == len(newFams):
		for i := range oldFams {
			if oldFams[i] != newFams[i] {
				return field.ErrorList{field.Invalid(p, newFams, "may not change once set")}
			}
		}
	case len(oldFams) > len(newFams):
		if len(newFams) > 0 && newFams[0] != oldFams[0] {
			return field.ErrorList{field.Invalid(p, newFams, "may not change once set")}
		}
		if len(newFams) == 1 && deref(svc.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
			return field.ErrorList{field.Invalid(specPath.Child("clusterIPs").Index(0), svc.Spec.ClusterIPs, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary ipFamily")}
		}
	case len(oldFams) > 0 && newFams[0] != oldFams[0]:
		return field.ErrorList{field.Invalid(p, newFams, "may not change once set")}
	}
	return nil
}
