package validation

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxConfigSize is the largest total data size of a ConfigMap or Secret (1 MiB).
const maxConfigSize = 1 * 1024 * 1024

const immutableSetMsg = "field is immutable when `immutable` is set"

// ValidateConfigMap validates a ConfigMap: valid keys, no key in both data
// and binaryData, and at most 1 MiB of data.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&cm.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	size := 0
	dataPath, binaryPath := field.NewPath("data"), field.NewPath("binaryData")
	for _, key := range sortedKeys(cm.Data) {
		allErrs = append(allErrs, invalidEach(dataPath.Key(key), key, utilvalidation.IsConfigMapKey(key))...)
		if _, dup := cm.BinaryData[key]; dup {
			allErrs = append(allErrs, field.Invalid(dataPath.Key(key), key, "duplicate of key present in binaryData"))
		}
		size += len(cm.Data[key])
	}
	for _, key := range sortedKeys(cm.BinaryData) {
		allErrs = append(allErrs, invalidEach(binaryPath.Key(key), key, utilvalidation.IsConfigMapKey(key))...)
		size += len(cm.BinaryData[key])
	}
	if size > maxConfigSize {
		allErrs = append(allErrs, field.TooLong(field.NewPath(""), "", maxConfigSize))
	}
	return allErrs
}

// ValidateConfigMapUpdate validates a ConfigMap update; an immutable
// ConfigMap may not change its data or become mutable again.
func ValidateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	allErrs := validateMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta)
	if deref(old.Immutable) {
		if !deref(cm.Immutable) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("immutable"), immutableSetMsg))
		}
		if !reflect.DeepEqual(cm.Data, old.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), immutableSetMsg))
		}
		if !reflect.DeepEqual(cm.BinaryData, old.BinaryData) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("binaryData"), immutableSetMsg))
		}
	}
	return append(allErrs, ValidateConfigMap(cm)...)
}
