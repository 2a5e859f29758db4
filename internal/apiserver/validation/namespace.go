package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateNamespace validates a Namespace: a DNS-1123 label name and valid
// spec.finalizers.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&ns.ObjectMeta, false, apimachineryvalidation.NameIsDNSLabel)
	finPath := specPath.Child("finalizers")
	for _, f := range ns.Spec.Finalizers {
		allErrs = append(allErrs, apimachineryvalidation.ValidateFinalizerName(string(f), finPath)...)
		allErrs = append(allErrs, validateKubeFinalizerName(string(f), finPath)...)
	}
	return allErrs
}

// ValidateNamespaceUpdate validates a Namespace update; only metadata rules
// apply (the registry keeps spec and status on plain updates).
func ValidateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	return validateMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
}
