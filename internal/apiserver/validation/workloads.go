package validation

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const selectorMismatchMsg = "`selector` does not match template `labels`"

var alwaysOnly = []corev1.RestartPolicy{corev1.RestartPolicyAlways}

// ValidateDeployment validates a Deployment on create.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&d.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(allErrs, validateDeploymentSpec(&d.Spec, specPath)...)
}

// ValidateDeploymentUpdate validates a Deployment update; the selector is
// immutable in apps/v1.
func ValidateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	allErrs := validateMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateDeploymentSpec(&d.Spec, specPath)...)
	return append(allErrs, apimachineryvalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateDeploymentSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(deref(spec.Replicas)), fldPath.Child("replicas"))
	if spec.Selector == nil {
		return append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	allErrs = append(allErrs, validateNonEmptySelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	allErrs = append(allErrs, validateReplicatedTemplate(&spec.Template, spec.Selector, fldPath)...)
	allErrs = append(allErrs, validateDeploymentStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		allErrs = append(allErrs, nonNegative(int64(*pds), fldPath.Child("progressDeadlineSeconds"))...)
		if *pds <= spec.MinReadySeconds {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("progressDeadlineSeconds"), *pds, "must be greater than minReadySeconds"))
		}
	}
	return allErrs
}

// validateNonEmptySelector validates a workload selector, which must select
// something.
func validateNonEmptySelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) field.ErrorList {
	allErrs := validateLabelSelector(sel, fldPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, sel, "empty selector is invalid for "+kind))
	}
	return allErrs
}

// validateReplicatedTemplate validates the pod template of a Deployment or
// ReplicaSet: it must match the selector and restart Always.
func validateReplicatedTemplate(tmpl *corev1.PodTemplateSpec, sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	tmplPath := fldPath.Child("template")
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath.Child("selector"), sel, "invalid label selector")}
	}
	var allErrs field.ErrorList
	if !selector.Empty() && !selector.Matches(labels.Set(tmpl.Labels)) {
		allErrs = append(allErrs, field.Invalid(tmplPath.Child("metadata", "labels"), tmpl.Labels, selectorMismatchMsg))
	}
	allErrs = append(allErrs, ValidatePodTemplateSpec(tmpl, tmplPath)...)
	if tmpl.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(tmplPath.Child("spec", "restartPolicy"), tmpl.Spec.RestartPolicy, alwaysOnly))
	}
	if tmpl.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(tmplPath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return allErrs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdateDeployment(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, *s, []appsv1.DeploymentStrategyType{
			appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func validateRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, fldPath *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := deref(ru.MaxUnavailable), deref(ru.MaxSurge)
	allErrs := validatePositiveIntOrPercent(maxUnavailable, fldPath.Child("maxUnavailable"))
	allErrs = append(allErrs, validatePositiveIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	if intOrPercentValue(maxUnavailable) == 0 && intOrPercentValue(maxSurge) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(allErrs, validateNotMoreThan100Percent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
}

// validatePositiveIntOrPercent accepts a non-negative integer or "N%".
func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		return invalidEach(fldPath, v, utilvalidation.IsValidPercent(v.StrVal))
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), fldPath)
	default:
		return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%')")}
	}
}

func validateNotMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if pct, ok := percentValue(v); ok && pct > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || !strings.HasSuffix(v.StrVal, "%") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	return n, err == nil
}

// intOrPercentValue returns the number in an int or percent, -1 if unparsable.
func intOrPercentValue(v intstr.IntOrString) int {
	if v.Type == intstr.Int {
		return v.IntValue()
	}
	if n, ok := percentValue(v); ok {
		return n
	}
	return -1
}

// ValidateReplicaSet validates a ReplicaSet on create.
func ValidateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&rs.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(allErrs, validateReplicaSetSpec(&rs.Spec, specPath)...)
}

// ValidateReplicaSetUpdate validates a ReplicaSet update; the selector is
// immutable in apps/v1.
func ValidateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	allErrs := validateMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateReplicaSetSpec(&rs.Spec, specPath)...)
	return append(allErrs, apimachineryvalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(deref(spec.Replicas)), fldPath.Child("replicas"))
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Selector == nil {
		return append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	// Upstream reuses the Deployment wording here.
	allErrs = append(allErrs, validateNonEmptySelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	return append(allErrs, validateReplicatedTemplate(&spec.Template, spec.Selector, fldPath)...)
}

// ValidateStatefulSet validates a StatefulSet on create. Its name must be a
// DNS label because pod hostnames derive from it. As upstream, the pod
// template's spec is not validated here (its volume mounts may refer to
// volumeClaimTemplates); pod creation validates it.
func ValidateStatefulSet(sts *appsv1.StatefulSet) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&sts.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel)
	return append(allErrs, validateStatefulSetSpec(&sts.Spec, specPath)...)
}

// ValidateStatefulSetUpdate validates a StatefulSet update: only replicas,
// ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy
// and minReadySeconds may change.
func ValidateStatefulSetUpdate(sts, old *appsv1.StatefulSet) field.ErrorList {
	allErrs := validateMetaUpdate(&sts.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateStatefulSetSpec(&sts.Spec, specPath)...)
	clone := sts.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !apiequality.Semantic.DeepEqual(*clone, old.Spec) {
		allErrs = append(allErrs, field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return allErrs
}

func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validatePodManagementPolicy(spec.PodManagementPolicy, fldPath.Child("podManagementPolicy"))
	allErrs = append(allErrs, validateStatefulSetStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		allErrs = append(allErrs, validateRetentionPolicyType(p.WhenDeleted, fldPath.Child("persistentVolumeClaimRetentionPolicy", "whenDeleted"))...)
		allErrs = append(allErrs, validateRetentionPolicyType(p.WhenScaled, fldPath.Child("persistentVolumeClaimRetentionPolicy", "whenScaled"))...)
	}
	allErrs = append(allErrs, nonNegative(int64(deref(spec.Replicas)), fldPath.Child("replicas"))...)
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		allErrs = append(allErrs, nonNegative(int64(spec.Ordinals.Start), fldPath.Child("ordinals.start"))...)
	}
	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, validateNonEmptySelector(spec.Selector, "statefulset", fldPath.Child("selector"))...)
	}
	allErrs = append(allErrs, validateStatefulSetTemplate(&spec.Template, spec.Selector, fldPath)...)
	tmplSpec := fldPath.Child("template", "spec")
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(tmplSpec.Child("restartPolicy"), spec.Template.Spec.RestartPolicy, alwaysOnly))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(tmplSpec.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return allErrs
}

// validateStatefulSetTemplate checks the template's labels against the
// selector and its metadata.
func validateStatefulSetTemplate(tmpl *corev1.PodTemplateSpec, sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	tmplPath := fldPath.Child("template")
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath.Child("selector"), sel, "")}
	}
	var allErrs field.ErrorList
	if !selector.Empty() && !selector.Matches(labels.Set(tmpl.Labels)) {
		allErrs = append(allErrs, field.Invalid(tmplPath.Child("metadata", "labels"), tmpl.Labels, selectorMismatchMsg))
	}
	allErrs = append(allErrs, validateLabels(tmpl.Labels, tmplPath.Child("labels"))...)
	return append(allErrs, apimachineryvalidation.ValidateAnnotations(tmpl.Annotations, tmplPath.Child("annotations"))...)
}

func validatePodManagementPolicy(p appsv1.PodManagementPolicyType, fldPath *field.Path) field.ErrorList {
	switch p {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
		return nil
	default:
		return field.ErrorList{field.Invalid(fldPath, p, fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement))}
	}
}

func validateStatefulSetStrategy(s *appsv1.StatefulSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(fldPath.Child("rollingUpdate"), s.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return validateStatefulSetRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
		}
	default:
		return field.ErrorList{field.Invalid(fldPath, *s, fmt.Sprintf("must be '%s' or '%s'",
			appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType))}
	}
	return nil
}

func validateStatefulSetRollingUpdate(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(deref(ru.Partition)), fldPath.Child("partition"))
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		allErrs = append(allErrs, validatePositiveIntOrPercent(*ru.MaxUnavailable, p)...)
		if intOrPercentValue(*ru.MaxUnavailable) == 0 {
			allErrs = append(allErrs, field.Invalid(p, *ru.MaxUnavailable, "cannot be 0"))
		}
		allErrs = append(allErrs, validateNotMoreThan100Percent(*ru.MaxUnavailable, p)...)
	}
	return allErrs
}

func validateRetentionPolicyType(t appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	default:
		return field.ErrorList{field.NotSupported(fldPath, t, []appsv1.PersistentVolumeClaimRetentionPolicyType{
			appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType})}
	}
}

// ValidateDaemonSet validates a DaemonSet on create.
func ValidateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&ds.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(allErrs, validateDaemonSetSpec(&ds.Spec, specPath)...)
}

// ValidateDaemonSetUpdate validates a DaemonSet update; the selector is
// immutable in apps/v1.
func ValidateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	allErrs := validateMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateDaemonSetSpec(&ds.Spec, specPath)...)
	return append(allErrs, apimachineryvalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateLabelSelector(spec.Selector, fldPath.Child("selector"))
	tmplPath := fldPath.Child("template")
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(tmplPath.Child("metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	allErrs = append(allErrs, ValidatePodTemplateSpec(&spec.Template, tmplPath)...)
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(tmplPath.Child("spec", "restartPolicy"), spec.Template.Spec.RestartPolicy, alwaysOnly))
	}
	if ads := spec.Template.Spec.ActiveDeadlineSeconds; ads != nil {
		allErrs = append(allErrs, field.Invalid(tmplPath.Child("spec", "activeDeadlineSeconds"), *ads, "activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, validateDaemonSetStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return allErrs
}

func validateDaemonSetStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateDaemonSetRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, *s, []appsv1.DaemonSetUpdateStrategyType{
			appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
	}
}

// validateDaemonSetRollingUpdate requires exactly one of maxUnavailable and
// maxSurge to be non-zero.
func validateDaemonSetRollingUpdate(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := deref(ru.MaxUnavailable), deref(ru.MaxSurge)
	allErrs := validatePositiveIntOrPercent(maxUnavailable, fldPath.Child("maxUnavailable"))
	allErrs = append(allErrs, validatePositiveIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	allErrs = append(allErrs, validateNotMoreThan100Percent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
	allErrs = append(allErrs, validateNotMoreThan100Percent(maxSurge, fldPath.Child("maxSurge"))...)
	hasUnavailable, hasSurge := intOrPercentValue(maxUnavailable) != 0, intOrPercentValue(maxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		allErrs = append(allErrs, field.Required(fldPath.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return allErrs
}
