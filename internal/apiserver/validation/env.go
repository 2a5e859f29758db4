package validation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// envFieldPaths are the pod fields an env var may read through fieldRef.
var envFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.uid",
	"spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)

// volumeFieldPaths are the pod fields a downward API volume file may read.
var volumeFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid",
)

// containerResourcePaths are the resources resourceFieldRef may read; huge
// page sizes are accepted by prefix.
var containerResourcePaths = sets.New(
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
)

var hugePageResourcePrefixes = []string{"requests.hugepages-", "limits.hugepages-"}

// validateEnv checks env var names (relaxed rules, beta and on in v1.32) and
// their valueFrom sources.
func validateEnv(vars []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, ev := range vars {
		idxPath := fldPath.Index(i)
		if ev.Name == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		allErrs = append(allErrs, invalidEach(idxPath.Child("name"), ev.Name, utilvalidation.IsRelaxedEnvVarName(ev.Name))...)
		allErrs = append(allErrs, validateEnvVarValueFrom(ev, idxPath.Child("valueFrom"))...)
	}
	return allErrs
}

func validateEnvVarValueFrom(ev corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	if ev.ValueFrom == nil {
		return nil
	}
	var allErrs field.ErrorList
	sources := 0
	if ref := ev.ValueFrom.FieldRef; ref != nil {
		sources++
		allErrs = append(allErrs, validateObjectFieldSelector(ref, envFieldPaths, fldPath.Child("fieldRef"))...)
	}
	if ref := ev.ValueFrom.ResourceFieldRef; ref != nil {
		sources++
		allErrs = append(allErrs, validateResourceFieldSelector(ref, false, fldPath.Child("resourceFieldRef"))...)
	}
	if ref := ev.ValueFrom.ConfigMapKeyRef; ref != nil {
		sources++
		allErrs = append(allErrs, validateKeySelector(ref.Name, ref.Key, fldPath.Child("configMapKeyRef"))...)
	}
	if ref := ev.ValueFrom.SecretKeyRef; ref != nil {
		sources++
		allErrs = append(allErrs, validateKeySelector(ref.Name, ref.Key, fldPath.Child("secretKeyRef"))...)
	}
	switch {
	case sources == 0:
		allErrs = append(allErrs, field.Invalid(fldPath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		allErrs = append(allErrs, field.Invalid(fldPath, "", "may not be specified when `value` is not empty"))
	case sources > 1:
		allErrs = append(allErrs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
	}
	return allErrs
}

// validateKeySelector checks a configMapKeyRef or secretKeyRef.
func validateKeySelector(name, key string, fldPath *field.Path) field.ErrorList {
	allErrs := validateSecretOrConfigMapName(name, fldPath.Child("name"))
	if key == "" {
		return append(allErrs, field.Required(fldPath.Child("key"), ""))
	}
	return append(allErrs, invalidEach(fldPath.Child("key"), key, utilvalidation.IsConfigMapKey(key))...)
}

// validateObjectFieldSelector checks a downward API fieldRef against the
// allowed field paths; metadata.labels['k'] and metadata.annotations['k'] are
// always accepted when the key is a qualified name.
func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, allowed sets.Set[string], fldPath *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fldPath.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fldPath.Child("fieldPath"), "")}
	}
	if fs.APIVersion != "v1" {
		return field.ErrorList{field.Invalid(fldPath.Child("fieldPath"), fs.FieldPath,
			fmt.Sprintf("error converting fieldPath: unsupported pod version: %s", fs.APIVersion))}
	}
	if base, key, ok := splitSubscript(fs.FieldPath); ok {
		switch base {
		case "metadata.annotations":
			return validateQualifiedName(strings.ToLower(key), fldPath)
		case "metadata.labels":
			return validateQualifiedName(key, fldPath)
		default:
			return field.ErrorList{field.Invalid(fldPath, base, "does not support subscript")}
		}
	}
	if !allowed.Has(fs.FieldPath) {
		return field.ErrorList{field.NotSupported(fldPath.Child("fieldPath"), fs.FieldPath, sets.List(allowed))}
	}
	return nil
}

// splitSubscript splits "metadata.labels['key']" into its base and key.
func splitSubscript(fieldPath string) (base, key string, ok bool) {
	open := strings.Index(fieldPath, "['")
	if open < 0 || !strings.HasSuffix(fieldPath, "']") || open+2 > len(fieldPath)-2 {
		return "", "", false
	}
	return fieldPath[:open], fieldPath[open+2 : len(fieldPath)-2], true
}

// validateResourceFieldSelector checks a resourceFieldRef; volume files must
// also name the container.
func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, volume bool, fldPath *field.Path) field.ErrorList {
	switch {
	case volume && fs.ContainerName == "":
		return field.ErrorList{field.Required(fldPath.Child("containerName"), "")}
	case fs.Resource == "":
		return field.ErrorList{field.Required(fldPath.Child("resource"), "")}
	case containerResourcePaths.Has(fs.Resource):
		return nil
	}
	for _, prefix := range hugePageResourcePrefixes {
		if strings.HasPrefix(fs.Resource, prefix) {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath.Child("resource"), fs.Resource, sets.List(containerResourcePaths))}
}

// validateEnvFrom checks envFrom sources and their optional prefix.
func validateEnvFrom(sources []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, src := range sources {
		idxPath := fldPath.Index(i)
		if src.Prefix != "" {
			allErrs = append(allErrs, invalidEach(idxPath.Child("prefix"), src.Prefix, utilvalidation.IsRelaxedEnvVarName(src.Prefix))...)
		}
		count := 0
		if src.ConfigMapRef != nil {
			count++
			allErrs = append(allErrs, validateEnvSourceName(src.ConfigMapRef.Name, idxPath.Child("configMapRef"))...)
		}
		if src.SecretRef != nil {
			count++
			allErrs = append(allErrs, validateEnvSourceName(src.SecretRef.Name, idxPath.Child("secretRef"))...)
		}
		switch {
		case count == 0:
			allErrs = append(allErrs, field.Invalid(fldPath, "", "must specify one of: `configMapRef` or `secretRef`"))
		case count > 1:
			allErrs = append(allErrs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
		}
	}
	return allErrs
}

func validateEnvSourceName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath.Child("name"), "")}
	}
	return validateSecretOrConfigMapName(name, fldPath.Child("name"))
}

// sortedKeys returns map keys in order so error lists are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
