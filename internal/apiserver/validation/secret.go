package validation

import (
	"encoding/json"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const redactedSecret = "<secret contents redacted>"

// ValidateSecret validates a Secret: valid keys, at most 1 MiB of data, and
// the keys each well-known type requires. stringData must already have been
// merged into data (defaults.Secret does this).
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&s.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	size := 0
	for _, key := range sortedKeys(s.Data) {
		allErrs = append(allErrs, invalidEach(dataPath.Key(key), key, utilvalidation.IsConfigMapKey(key))...)
		size += len(s.Data[key])
	}
	if size > maxConfigSize {
		allErrs = append(allErrs, field.TooLong(dataPath, "", maxConfigSize))
	}
	return append(allErrs, validateSecretType(s, dataPath)...)
}

// validateSecretType checks the keys required by the built-in secret types.
func validateSecretType(s *corev1.Secret, dataPath *field.Path) field.ErrorList {
	has := func(key string) bool { _, ok := s.Data[key]; return ok }
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			return field.ErrorList{field.Required(metadataPath.Child("annotations").Key(corev1.ServiceAccountNameKey), "")}
		}
	case corev1.SecretTypeDockercfg:
		return validateJSONKey(s.Data, corev1.DockerConfigKey, dataPath)
	case corev1.SecretTypeDockerConfigJson:
		return validateJSONKey(s.Data, corev1.DockerConfigJsonKey, dataPath)
	case corev1.SecretTypeBasicAuth:
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			return field.ErrorList{
				field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""),
			}
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			return field.ErrorList{field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), "")}
		}
	case corev1.SecretTypeTLS:
		var allErrs field.ErrorList
		if !has(corev1.TLSCertKey) {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if !has(corev1.TLSPrivateKeyKey) {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
		return allErrs
	}
	return nil
}

// validateJSONKey requires key to be present and hold a JSON object.
func validateJSONKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	raw, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]interface{}{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), redactedSecret, err.Error())}
	}
	return nil
}

// ValidateSecretUpdate validates a Secret update: the type never changes and
// an immutable Secret keeps its data.
func ValidateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	allErrs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))...)
	if deref(old.Immutable) {
		if !deref(s.Immutable) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("immutable"), immutableSetMsg))
		}
		if !reflect.DeepEqual(s.Data, old.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), immutableSetMsg))
		}
	}
	return append(allErrs, ValidateSecret(s)...)
}
