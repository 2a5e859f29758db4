package validation

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

var supportedAccessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

// ValidatePersistentVolumeClaim validates a PersistentVolumeClaim on create.
func ValidatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&pvc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(allErrs, validatePVCSpec(&pvc.Spec, specPath)...)
}

// ValidatePersistentVolumeClaimUpdate validates a claim update. The spec is
// immutable except that volumeName may be set once and, for a bound claim,
// resources.requests may change as long as storage does not shrink.
func ValidatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, ValidatePersistentVolumeClaim(pvc)...)
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if old.Spec.StorageClassName == nil && newSpec.StorageClassName != nil &&
		old.Annotations[betaStorageClassAnnotation] == *newSpec.StorageClassName {
		newSpec.StorageClassName = nil // moving the beta annotation into the field
	} else {
		allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(pvc.Annotations[betaStorageClassAnnotation],
			old.Annotations[betaStorageClassAnnotation], metadataPath.Child("annotations").Key(betaStorageClassAnnotation))...)
	}
	if pvc.Status.Phase == corev1.ClaimBound && newSpec.Resources.Requests != nil {
		newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	if !apiequality.Semantic.DeepEqual(*newSpec, *oldSpec) {
		msg := "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
		allErrs = append(allErrs, field.Forbidden(specPath, msg+"\n  changed: "+strings.Join(changedFields("spec", reflect.ValueOf(*oldSpec), reflect.ValueOf(*newSpec)), ", ")))
	}
	oldSize, newSize := old.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("resources", "requests", "storage"), "field can not be less than previous value"))
	}
	return append(allErrs, apimachineryvalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

// validatePVCSpec checks access modes, the storage request, class name and
// volume mode of a claim (also used for claim templates).
func validatePVCSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, validateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	allErrs = append(allErrs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if q.Sign() <= 0 {
		allErrs = append(allErrs, field.Invalid(storagePath, q.String(), isNotPositiveErrorMsg))
	}
	if sc := spec.StorageClassName; sc != nil && *sc != "" {
		allErrs = append(allErrs, validateNameWith(apimachineryvalidation.NameIsDNSSubdomain, *sc, fldPath.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeBlock && *m != corev1.PersistentVolumeFilesystem {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *m, []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil && *vac != "" {
		allErrs = append(allErrs, validateNameWith(apimachineryvalidation.NameIsDNSSubdomain, *vac, fldPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rwop := false
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOncePod:
			rwop = true
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany:
		default:
			allErrs = append(allErrs, field.NotSupported(fldPath, m, supportedAccessModes))
		}
	}
	if rwop && len(modes) > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return allErrs
}
