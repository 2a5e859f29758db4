package validation

import (
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// metadataPath is the root of every object's metadata errors.
var metadataPath = field.NewPath("metadata")

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

// ValidateObjectMetaFor validates object metadata on create with the given
// name rule, plus the Kubernetes finalizer-name rule the core API adds.
func ValidateObjectMetaFor(meta *metav1.ObjectMeta, namespaced bool, nameFn apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced, nameFn, metadataPath)
	return append(allErrs, validateKubeFinalizers(meta.Finalizers, metadataPath.Child("finalizers"))...)
}

// ValidateGenericObjectMeta validates the metadata of any resource that has no
// dedicated validator: the name must be a DNS-1123 subdomain, the namespace
// must be set exactly when the resource is namespaced, and labels,
// annotations, owner references and finalizers must be well formed.
func ValidateGenericObjectMeta(obj metav1.Object, namespaced bool) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaAccessor(obj, namespaced, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	return append(allErrs, validateKubeFinalizers(obj.GetFinalizers(), metadataPath.Child("finalizers"))...)
}

// validateMetaUpdate validates metadata changes on update.
func validateMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, metadataPath)
	return append(allErrs, validateKubeFinalizers(newMeta.Finalizers, metadataPath.Child("finalizers"))...)
}

// validateKubeFinalizers rejects finalizer names without a domain unless they
// are one of the standard ones.
func validateKubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, name := range finalizers {
		allErrs = append(allErrs, validateKubeFinalizerName(name, fldPath.Index(i))...)
	}
	return allErrs
}

func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if strings.Contains(name, "/") || standardFinalizers[name] {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
}

// invalidEach turns the messages of an apimachinery string check into Invalid
// errors on one path.
func invalidEach(fldPath *field.Path, value interface{}, msgs []string) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range msgs {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

// validateDNS1123Label checks a value that must be a DNS-1123 label.
func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsDNS1123Label(value))
}

// validateDNS1123Subdomain checks a value that must be a DNS-1123 subdomain.
func validateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsDNS1123Subdomain(value))
}

// validateQualifiedName checks a value that must be a qualified name
// ("prefix/name" or "name"), as label keys are.
func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, utilvalidation.IsQualifiedName(value))
}

// validateNameWith checks a reference to another object's name.
func validateNameWith(nameFn apimachineryvalidation.ValidateNameFunc, value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, nameFn(value, false))
}

// nonNegative reports a negative integer field.
func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

// deref returns the pointed-to value or zero, mirroring how the internal API
// sees unset optional fields.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// validateLabels checks label keys and values.
func validateLabels(labels map[string]string, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(labels, fldPath)
}

// validateLabelName checks a label key (also used for taint and toleration
// keys and topology keys).
func validateLabelName(name string, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelName(name, fldPath)
}

// validateLabelSelector checks a label selector strictly (no invalid label
// values), as every built-in workload does.
func validateLabelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}
