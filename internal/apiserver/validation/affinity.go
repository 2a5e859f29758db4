package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const weightRangeMsg = "must be in the range 1-100"

// validateAffinity checks node, pod and pod anti-affinity.
func validateAffinity(a *corev1.Affinity, fldPath *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var allErrs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		naPath := fldPath.Child("nodeAffinity")
		if na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			allErrs = append(allErrs, validateNodeSelector(na.RequiredDuringSchedulingIgnoredDuringExecution, naPath.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		}
		for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			termPath := naPath.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if term.Weight <= 0 || term.Weight > 100 {
				allErrs = append(allErrs, field.Invalid(termPath.Child("weight"), term.Weight, weightRangeMsg))
			}
			allErrs = append(allErrs, validateNodeSelectorTerm(term.Preference, termPath.Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		allErrs = append(allErrs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, fldPath.Child("podAffinity"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		allErrs = append(allErrs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, fldPath.Child("podAntiAffinity"))...)
	}
	return allErrs
}

// validateNodeSelector checks a required node selector: at least one term.
func validateNodeSelector(ns *corev1.NodeSelector, fldPath *field.Path) field.ErrorList {
	termsPath := fldPath.Child("nodeSelectorTerms")
	if len(ns.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var allErrs field.ErrorList
	for i, term := range ns.NodeSelectorTerms {
		allErrs = append(allErrs, validateNodeSelectorTerm(term, termsPath.Index(i))...)
	}
	return allErrs
}

func validateNodeSelectorTerm(term corev1.NodeSelectorTerm, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, req := range term.MatchExpressions {
		allErrs = append(allErrs, validateNodeSelectorRequirement(req, fldPath.Child("matchExpressions").Index(i))...)
	}
	for i, req := range term.MatchFields {
		allErrs = append(allErrs, validateNodeFieldSelectorRequirement(req, fldPath.Child("matchFields").Index(i))...)
	}
	return allErrs
}

func validateNodeSelectorRequirement(req corev1.NodeSelectorRequirement, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			allErrs = append(allErrs, field.Required(fldPath.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	return append(allErrs, validateLabelName(req.Key, fldPath.Child("key"))...)
}

// validateNodeFieldSelectorRequirement checks matchFields, which only
// support metadata.name with In/NotIn and one value.
func validateNodeFieldSelectorRequirement(req corev1.NodeSelectorRequirement, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) != 1 {
			allErrs = append(allErrs, field.Required(fldPath.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	if req.Key != metav1.ObjectNameField {
		return append(allErrs, field.Invalid(fldPath.Child("key"), req.Key, "not a valid field selector key"))
	}
	for i, v := range req.Values {
		allErrs = append(allErrs, validateNameWith(apimachineryvalidation.NameIsDNSSubdomain, v, fldPath.Child("values").Index(i))...)
	}
	return allErrs
}

func validatePodAffinityTerms(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, term := range required {
		allErrs = append(allErrs, validatePodAffinityTerm(term, fldPath.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i, wt := range preferred {
		termPath := fldPath.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		if wt.Weight <= 0 || wt.Weight > 100 {
			allErrs = append(allErrs, field.Invalid(termPath.Child("weight"), wt.Weight, weightRangeMsg))
		}
		allErrs = append(allErrs, validatePodAffinityTerm(wt.PodAffinityTerm, termPath.Child("podAffinityTerm"))...)
	}
	return allErrs
}

func validatePodAffinityTerm(term corev1.PodAffinityTerm, fldPath *field.Path) field.ErrorList {
	allErrs := validateLabelSelector(term.LabelSelector, fldPath.Child("labelSelector"))
	allErrs = append(allErrs, validateLabelSelector(term.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	for _, ns := range term.Namespaces {
		allErrs = append(allErrs, validateNameWith(apimachineryvalidation.NameIsDNSLabel, ns, fldPath.Child("namespace"))...)
	}
	allErrs = append(allErrs, validateMatchLabelKeys(term.MatchLabelKeys, term.MismatchLabelKeys, fldPath)...)
	if term.TopologyKey == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("topologyKey"), "can not be empty"))
	}
	return append(allErrs, validateLabelName(term.TopologyKey, fldPath.Child("topologyKey"))...)
}

// validateMatchLabelKeys checks matchLabelKeys/mismatchLabelKeys: valid
// label keys, and no key in both lists.
func validateMatchLabelKeys(match, mismatch []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	matchSet := sets.New(match...)
	for i, k := range match {
		allErrs = append(allErrs, validateLabelName(k, fldPath.Child("matchLabelKeys").Index(i))...)
	}
	for i, k := range mismatch {
		allErrs = append(allErrs, validateLabelName(k, fldPath.Child("mismatchLabelKeys").Index(i))...)
		if matchSet.Has(k) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("mismatchLabelKeys").Index(i), k, "exists in both matchLabelKeys and mismatchLabelKeys"))
		}
	}
	return allErrs
}

// validateTopologySpread checks topologySpreadConstraints.
func validateTopologySpread(constraints []corev1.TopologySpreadConstraint, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, c := range constraints {
		idxPath := fldPath.Index(i)
		if c.MaxSkew <= 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("maxSkew"), c.MaxSkew, isNotPositiveErrorMsg))
		}
		if c.TopologyKey == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("topologyKey"), "can not be empty"))
		}
		if c.WhenUnsatisfiable != corev1.DoNotSchedule && c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("whenUnsatisfiable"), c.WhenUnsatisfiable,
				[]corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}))
		}
		for _, other := range constraints[i+1:] {
			if c.TopologyKey == other.TopologyKey && c.WhenUnsatisfiable == other.WhenUnsatisfiable {
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
		allErrs = append(allErrs, validateMinDomains(c.MinDomains, c.WhenUnsatisfiable, idxPath.Child("minDomains"))...)
		allErrs = append(allErrs, validateInclusionPolicy(c.NodeAffinityPolicy, idxPath.Child("nodeAffinityPolicy"))...)
		allErrs = append(allErrs, validateInclusionPolicy(c.NodeTaintsPolicy, idxPath.Child("nodeTaintsPolicy"))...)
		for j, k := range c.MatchLabelKeys {
			allErrs = append(allErrs, validateLabelName(k, idxPath.Child("matchLabelKeys").Index(j))...)
		}
		allErrs = append(allErrs, validateLabelSelector(c.LabelSelector, idxPath.Child("labelSelector"))...)
	}
	return allErrs
}

func validateMinDomains(minDomains *int32, action corev1.UnsatisfiableConstraintAction, fldPath *field.Path) field.ErrorList {
	if minDomains == nil {
		return nil
	}
	var allErrs field.ErrorList
	if *minDomains <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, *minDomains, isNotPositiveErrorMsg))
	}
	if action != corev1.DoNotSchedule {
		allErrs = append(allErrs, field.Invalid(fldPath, *minDomains, fmt.Sprintf("can only use minDomains if whenUnsatisfiable=%s, not %s", corev1.DoNotSchedule, action)))
	}
	return allErrs
}

func validateInclusionPolicy(p *corev1.NodeInclusionPolicy, fldPath *field.Path) field.ErrorList {
	if p == nil || *p == corev1.NodeInclusionPolicyHonor || *p == corev1.NodeInclusionPolicyIgnore {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, *p, []corev1.NodeInclusionPolicy{corev1.NodeInclusionPolicyHonor, corev1.NodeInclusionPolicyIgnore})}
}
