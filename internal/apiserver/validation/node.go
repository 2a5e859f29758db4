package validation

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const nodeCIDRChangeMsg = "node updates may not change podCIDR except from \"\" to valid"

// ValidateNode validates a Node on create: a DNS subdomain name, valid
// taints, non-negative capacity and well-formed pod CIDRs.
func ValidateNode(node *corev1.Node) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&node.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	allErrs = append(allErrs, validateNodeTaints(node.Spec.Taints)...)
	allErrs = append(allErrs, validateNodeResources(node)...)
	return append(allErrs, validatePodCIDRs(node.Spec.PodCIDRs, specPath.Child("podCIDRs"))...)
}

// ValidateNodeUpdate validates a Node update: pod CIDRs and providerID may
// only go from unset to set, and status addresses must be unique.
func ValidateNodeUpdate(node, old *corev1.Node) field.ErrorList {
	allErrs := validateMetaUpdate(&node.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateNodeResources(node)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, addr := range node.Status.Addresses {
		if seen[addr] {
			allErrs = append(allErrs, field.Duplicate(field.NewPath("status", "addresses").Index(i), addr))
		}
		seen[addr] = true
	}
	if len(old.Spec.PodCIDRs) > 0 && !slices.Equal(old.Spec.PodCIDRs, node.Spec.PodCIDRs) {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("podCIDRs"), nodeCIDRChangeMsg))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != node.Spec.ProviderID {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	allErrs = append(allErrs, validateNodeTaints(node.Spec.Taints)...)
	if node.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("externalID"), "may not be updated"))
	}
	return allErrs
}

// validateNodeTaints checks taints. Upstream reports them under
// metadata.taints, and so do we, so messages match.
func validateNodeTaints(taints []corev1.Taint) field.ErrorList {
	fldPath := metadataPath.Child("taints")
	var allErrs field.ErrorList
	byEffect := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateLabelName(t.Key, idxPath.Child("key"))...)
		if errs := utilvalidation.IsValidLabelValue(t.Value); len(errs) != 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("value"), t.Value, strings.Join(errs, ";")))
		}
		allErrs = append(allErrs, validateTaintEffect(t.Effect, idxPath.Child("effect"))...)
		if byEffect[t.Effect].Has(t.Key) {
			dup := field.Duplicate(idxPath, t)
			dup.Detail = "taints must be unique by key and effect pair"
			allErrs = append(allErrs, dup)
			continue
		}
		if byEffect[t.Effect] == nil {
			byEffect[t.Effect] = sets.New[string]()
		}
		byEffect[t.Effect].Insert(t.Key)
	}
	return allErrs
}

func validateNodeResources(node *corev1.Node) field.ErrorList {
	allErrs := validateResourceQuantities(node.Status.Capacity, field.NewPath("status", "capacity"))
	return append(allErrs, validateResourceQuantities(node.Status.Allocatable, field.NewPath("status", "allocatable"))...)
}

// validatePodCIDRs checks node pod CIDRs: valid, one per family, unique.
func validatePodCIDRs(cidrs []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, c := range cidrs {
		allErrs = append(allErrs, utilvalidation.IsValidCIDR(fldPath.Index(i), c)...)
	}
	if len(allErrs) != 0 || len(cidrs) < 2 {
		return allErrs
	}
	if len(cidrs) > 2 || isIPv4(cidrIP(cidrs[0])) == isIPv4(cidrIP(cidrs[1])) {
		allErrs = append(allErrs, field.Invalid(fldPath, cidrs, "may specify no more than one CIDR for each IP family"))
	}
	seen := sets.New[string]()
	for i, c := range cidrs {
		if seen.Has(c) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), c))
		}
		seen.Insert(c)
	}
	return allErrs
}

func cidrIP(cidr string) string {
	ip, _, _ := strings.Cut(cidr, "/")
	return ip
}
