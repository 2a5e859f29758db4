package validation

import (
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podUpdateForbiddenMsg is upstream's message for changes to immutable pod
// spec fields; a short list of the changed fields follows it.
const podUpdateForbiddenMsg = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

var specPath = field.NewPath("spec")

// ValidatePod validates a pod on create.
func ValidatePod(pod *corev1.Pod) field.ErrorList {
	allErrs := validatePodMetadataAndSpec(pod)
	if len(pod.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		allErrs = append(allErrs, nonNegative(*g, specPath.Child("terminationGracePeriodSeconds"))...)
	}
	return allErrs
}

// validatePodMetadataAndSpec holds the checks shared by pod create and update.
func validatePodMetadataAndSpec(pod *corev1.Pod) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&pod.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	allErrs = append(allErrs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, specPath)...)
	if pod.Spec.ServiceAccountName == "" {
		allErrs = append(allErrs, forbidTokenProjections(pod.Spec.Volumes)...)
	}
	allErrs = append(allErrs, validateImageWhitespace(pod.Spec.Containers, specPath.Child("containers"))...)
	return append(allErrs, validateImageWhitespace(pod.Spec.InitContainers, specPath.Child("initContainers"))...)
}

// forbidTokenProjections rejects service account tokens in a pod that has
// no service account.
func forbidTokenProjections(volumes []corev1.Volume) field.ErrorList {
	var allErrs field.ErrorList
	for vi, v := range volumes {
		if v.Projected == nil {
			continue
		}
		for si, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				p := specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken")
				allErrs = append(allErrs, field.Forbidden(p, "must not be specified when serviceAccountName is not set"))
			}
		}
	}
	return allErrs
}

func validateImageWhitespace(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, c := range containers {
		if strings.TrimSpace(c.Image) != c.Image {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return allErrs
}

// ValidatePodUpdate validates a pod update. Only container images,
// activeDeadlineSeconds (set or lowered), new tolerations, removal of
// scheduling gates, additions to a gated pod's nodeSelector, and a negative
// terminationGracePeriodSeconds becoming 1 may change in the spec.
func ValidatePodUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	allErrs := validateMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta)
	allErrs = append(allErrs, validatePodMetadataAndSpec(newPod)...)
	errs, stop := validateContainerUpdates(newPod.Spec.Containers, oldPod.Spec.Containers, specPath.Child("containers"))
	allErrs = append(allErrs, errs...)
	if stop {
		return allErrs
	}
	errs, stop = validateContainerUpdates(newPod.Spec.InitContainers, oldPod.Spec.InitContainers, specPath.Child("initContainers"))
	allErrs = append(allErrs, errs...)
	if stop {
		return allErrs
	}
	errs, stop = validateActiveDeadlineUpdate(newPod.Spec.ActiveDeadlineSeconds, oldPod.Spec.ActiveDeadlineSeconds)
	allErrs = append(allErrs, errs...)
	if stop {
		return allErrs
	}
	allErrs = append(allErrs, validateOnlyAddedTolerations(newPod.Spec.Tolerations, oldPod.Spec.Tolerations, specPath.Child("tolerations"))...)
	allErrs = append(allErrs, validateOnlyDeletedSchedulingGates(newPod.Spec.SchedulingGates, oldPod.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	return append(allErrs, validateImmutablePodSpec(&newPod.Spec, &oldPod.Spec)...)
}

// validateContainerUpdates rejects adding or removing containers; stop is
// true when that happened, since comparing further is meaningless.
func validateContainerUpdates(newCtrs, oldCtrs []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(newCtrs) != len(oldCtrs) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	// Missing images are already reported by the spec validation.
	return nil, false
}

// validateActiveDeadlineUpdate allows activeDeadlineSeconds to be set or
// lowered, never raised or cleared.
func validateActiveDeadlineUpdate(newADS, oldADS *int64) (field.ErrorList, bool) {
	p := specPath.Child("activeDeadlineSeconds")
	switch {
	case newADS == nil && oldADS != nil:
		return field.ErrorList{field.Invalid(p, newADS, "must not update from a positive integer to nil value")}, false
	case newADS == nil:
		return nil, false
	case *newADS < 0 || *newADS > math.MaxInt32:
		return field.ErrorList{field.Invalid(p, *newADS, utilvalidation.InclusiveRangeError(0, math.MaxInt32))}, true
	case oldADS != nil && *oldADS < *newADS:
		return field.ErrorList{field.Invalid(p, *newADS, "must be less than or equal to previous value")}, true
	}
	return nil, false
}

// validateOnlyAddedTolerations requires every old toleration to still be
// present (its tolerationSeconds may change).
func validateOnlyAddedTolerations(newTols, oldTols []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, old := range oldTols {
		found := false
		for _, n := range newTols {
			candidate := old
			candidate.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(candidate, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(newTols, fldPath)
}

// validateOnlyDeletedSchedulingGates rejects new scheduling gates on update.
func validateOnlyDeletedSchedulingGates(newGates, oldGates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	old := sets.New[string]()
	for _, g := range oldGates {
		old.Insert(g.Name)
	}
	var allErrs field.ErrorList
	for i, g := range newGates {
		if !old.Has(g.Name) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("name"),
				fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return allErrs
}

// validateImmutablePodSpec blanks out the mutable fields and reports any
// remaining difference as one Forbidden error on spec.
func validateImmutablePodSpec(newSpec, oldSpec *corev1.PodSpec) field.ErrorList {
	var allErrs field.ErrorList
	munged := newSpec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = oldSpec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = oldSpec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.SchedulingGates = oldSpec.SchedulingGates
	munged.Tolerations = oldSpec.Tolerations
	if o, n := oldSpec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; o != nil && *o < 0 && n != nil && *n == 1 {
		munged.TerminationGracePeriodSeconds = o
	}
	if len(oldSpec.SchedulingGates) > 0 && !apiequality.Semantic.DeepEqual(munged.NodeSelector, oldSpec.NodeSelector) {
		allErrs = append(allErrs, validateNodeSelectorAdditions(munged.NodeSelector, oldSpec.NodeSelector, specPath.Child("nodeSelector"))...)
		munged.NodeSelector = oldSpec.NodeSelector
	}
	if !apiequality.Semantic.DeepEqual(*munged, *oldSpec) {
		changed := changedFields("spec", reflect.ValueOf(*oldSpec), reflect.ValueOf(*munged))
		msg := podUpdateForbiddenMsg + "\n  changed: " + strings.Join(changed, ", ")
		allErrs = append(allErrs, field.Forbidden(specPath, msg))
	}
	return allErrs
}

// validateNodeSelectorAdditions lets a gated pod only add nodeSelector entries.
func validateNodeSelectorAdditions(newSel, oldSel map[string]string, fldPath *field.Path) field.ErrorList {
	for k, v := range oldSel {
		if nv, ok := newSel[k]; !ok || nv != v {
			return field.ErrorList{field.Invalid(fldPath, newSel, "only additions to spec.nodeSelector are allowed (no mutations or deletions)")}
		}
	}
	return nil
}

// ValidatePodStatusUpdate validates a write to the pod status subresource.
func ValidatePodStatusUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	allErrs := validateMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta)
	statusPath := field.NewPath("status")
	allErrs = append(allErrs, validatePodConditions(newPod.Status.Conditions, statusPath.Child("conditions"))...)
	if newPod.Spec.NodeName != oldPod.Spec.NodeName {
		allErrs = append(allErrs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := newPod.Status.NominatedNodeName; n != "" && n != oldPod.Status.NominatedNodeName {
		allErrs = append(allErrs, validateNameWith(apimachineryvalidation.NameIsDNSSubdomain, n, statusPath.Child("nominatedNodeName"))...)
	}
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.ContainerStatuses, oldPod.Status.ContainerStatuses,
		statusPath.Child("containerStatuses"), func(string) corev1.RestartPolicy { return oldPod.Spec.RestartPolicy })...)
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.InitContainerStatuses, oldPod.Status.InitContainerStatuses,
		statusPath.Child("initContainerStatuses"), initRestartPolicy(&oldPod.Spec))...)
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.EphemeralContainerStatuses, oldPod.Status.EphemeralContainerStatuses,
		statusPath.Child("ephemeralContainerStatuses"), func(string) corev1.RestartPolicy { return corev1.RestartPolicyNever })...)
	var podIPs, hostIPs []string
	for _, ip := range newPod.Status.PodIPs {
		podIPs = append(podIPs, ip.IP)
	}
	for _, ip := range newPod.Status.HostIPs {
		hostIPs = append(hostIPs, ip.IP)
	}
	allErrs = append(allErrs, validateIPList(podIPs, statusPath.Child("podIPs"))...)
	return append(allErrs, validateIPList(hostIPs, statusPath.Child("hostIPs"))...)
}

func validatePodConditions(conds []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	system := sets.New(corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized, corev1.ContainersReady, corev1.DisruptionTarget, corev1.PodReadyToStartContainers)
	var allErrs field.ErrorList
	for i, c := range conds {
		if !system.Has(c.Type) {
			allErrs = append(allErrs, validateQualifiedName(string(c.Type), fldPath.Index(i).Child("Type"))...)
		}
	}
	return allErrs
}

// initRestartPolicy returns the effective restart policy of an init
// container: Always for sidecars, the pod's policy otherwise.
func initRestartPolicy(spec *corev1.PodSpec) func(string) corev1.RestartPolicy {
	return func(name string) corev1.RestartPolicy {
		for _, c := range spec.InitContainers {
			if c.Name == name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				return corev1.RestartPolicyAlways
			}
		}
		return spec.RestartPolicy
	}
}

// validateContainerStateTransition forbids a terminated container that will
// not be restarted from becoming non-terminated again.
func validateContainerStateTransition(newStatuses, oldStatuses []corev1.ContainerStatus, fldPath *field.Path, policyOf func(string) corev1.RestartPolicy) field.ErrorList {
	var allErrs field.ErrorList
	for i, old := range oldStatuses {
		policy := policyOf(old.Name)
		if policy == corev1.RestartPolicyAlways || old.State.Terminated == nil {
			continue
		}
		if old.State.Terminated.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure {
			continue
		}
		for _, n := range newStatuses {
			if n.Name == old.Name && n.State.Terminated == nil {
				allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return allErrs
}

// validateIPList checks pod or host IPs: valid, at most one per family, no
// duplicates.
func validateIPList(ips []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, ip := range ips {
		allErrs = append(allErrs, utilvalidation.IsValidIP(fldPath.Index(i), ip)...)
	}
	if len(allErrs) != 0 || len(ips) < 2 {
		return allErrs
	}
	if len(ips) > 2 || !isDualStack(ips[0], ips[1]) {
		allErrs = append(allErrs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), ip))
		}
		seen.Insert(ip)
	}
	return allErrs
}

// isDualStack reports whether exactly one of two IPs is IPv4.
func isDualStack(a, b string) bool {
	return isIPv4(a) != isIPv4(b)
}

func isIPv4(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() != nil
}
