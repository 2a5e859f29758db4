package validation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	isNegativeErrorMsg    = "must be greater than or equal to 0"
	isNotIntegerErrorMsg  = "must be an integer"
	isNotPositiveErrorMsg = "must be greater than zero"
	hugePagesPrefix       = "hugepages-"
	nativeResourceDomain  = "kubernetes.io/"
	requestsPrefix        = "requests."
)

// standardResources are the un-prefixed resource names the API knows.
var standardResources = sets.New(
	"cpu", "memory", "storage", "ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.storage", "requests.ephemeral-storage",
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
	"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
)

// standardContainerResources are the un-prefixed names a container may request.
var standardContainerResources = sets.New("cpu", "memory", "ephemeral-storage")

func isHugePageResource(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), hugePagesPrefix)
}

func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), nativeResourceDomain)
}

// isExtendedResource reports a vendor resource such as "example.com/gpu".
func isExtendedResource(name corev1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), requestsPrefix) {
		return false
	}
	return len(utilvalidation.IsQualifiedName(requestsPrefix+string(name))) == 0
}

// isOvercommitAllowed reports whether requests may be below limits.
func isOvercommitAllowed(name corev1.ResourceName) bool {
	return isNativeResource(name) && !isHugePageResource(name)
}

func isStandardResource(name corev1.ResourceName) bool {
	s := string(name)
	return standardResources.Has(s) || isHugePageResource(name) ||
		strings.HasPrefix(s, requestsPrefix+hugePagesPrefix) || strings.HasPrefix(s, "limits."+hugePagesPrefix)
}

// validateResourceRequirements checks container limits and requests: known
// resource names, non-negative quantities and requests not above limits.
func validateResourceRequirements(req *corev1.ResourceRequirements, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	computeSet, hugePagesSet := false, false
	for _, name := range sortedResourceNames(req.Limits) {
		q := req.Limits[name]
		keyPath := limPath.Key(string(name))
		allErrs = append(allErrs, validateContainerResourceName(name, keyPath)...)
		allErrs = append(allErrs, validateResourceQuantity(name, q, keyPath)...)
		computeSet = computeSet || name == corev1.ResourceCPU || name == corev1.ResourceMemory
		hugePagesSet = hugePagesSet || isHugePageResource(name)
	}
	for _, name := range sortedResourceNames(req.Requests) {
		q := req.Requests[name]
		keyPath := reqPath.Key(string(name))
		allErrs = append(allErrs, validateContainerResourceName(name, keyPath)...)
		allErrs = append(allErrs, validateResourceQuantity(name, q, keyPath)...)
		allErrs = append(allErrs, validateRequestAgainstLimit(name, q, req.Limits, limPath, reqPath)...)
		computeSet = computeSet || name == corev1.ResourceCPU || name == corev1.ResourceMemory
		hugePagesSet = hugePagesSet || isHugePageResource(name)
	}
	if hugePagesSet && !computeSet {
		allErrs = append(allErrs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(allErrs, validateResourceClaimRefs(req.Claims, claimNames, fldPath.Child("claims"))...)
}

// validateRequestAgainstLimit reports a request above its limit, or unequal
// to it for resources that cannot be overcommitted.
func validateRequestAgainstLimit(name corev1.ResourceName, q resource.Quantity, limits corev1.ResourceList, limPath, reqPath *field.Path) field.ErrorList {
	limit, ok := limits[name]
	switch {
	case !ok && !isOvercommitAllowed(name):
		return field.ErrorList{field.Required(limPath, "Limit must be set for non overcommitable resources")}
	case !ok:
		return nil
	case q.Cmp(limit) != 0 && !isOvercommitAllowed(name):
		return field.ErrorList{field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String()))}
	case q.Cmp(limit) > 0:
		return field.ErrorList{field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String()))}
	}
	return nil
}

// validateResourceName checks any resource name: qualified, and standard
// when it has no domain.
func validateResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateQualifiedName(string(name), fldPath)
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(name), "/") && !isStandardResource(name) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	return allErrs
}

// validateContainerResourceName checks a resource name used by a container.
func validateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateResourceName(name, fldPath)
	if !strings.Contains(string(name), "/") {
		if !standardContainerResources.Has(string(name)) && !isHugePageResource(name) {
			allErrs = append(allErrs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResource(name) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return allErrs
}

// validateResourceQuantity requires a non-negative quantity, and a whole
// number for extended resources.
func validateResourceQuantity(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if q.Sign() < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, q.String(), isNegativeErrorMsg))
	}
	if isExtendedResource(name) && q.MilliValue()%1000 != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, q.String(), isNotIntegerErrorMsg))
	}
	return allErrs
}

// validateResourceClaimRefs checks resources.claims against pod resourceClaims.
func validateResourceClaimRefs(claims []corev1.ResourceClaim, podClaims sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		idxPath := fldPath.Index(i)
		switch {
		case c.Name == "":
			allErrs = append(allErrs, field.Required(idxPath, ""))
		case seen.Has(c.Name):
			allErrs = append(allErrs, field.Duplicate(idxPath, c.Name))
		case !podClaims.Has(c.Name):
			allErrs = append(allErrs, field.Invalid(idxPath, c.Name, "must be one of the names in pod.spec.resourceClaims"))
		}
		seen.Insert(c.Name)
	}
	return allErrs
}

// validateResourceQuantities checks the quantities of a plain resource list
// such as node capacity; names are free-form there.
func validateResourceQuantities(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, name := range sortedResourceNames(list) {
		allErrs = append(allErrs, validateResourceQuantity(name, list[name], fldPath.Key(string(name)))...)
	}
	return allErrs
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for name := range list {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}
