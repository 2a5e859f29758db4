package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// PersistentVolumeClaim fills volumeMode Filesystem and status phase Pending.
func PersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	persistentVolumeClaimSpec(&pvc.Spec)
	roundResourceList(pvc.Status.Capacity)
}

func persistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	roundResourceList(spec.Resources.Limits)
	roundResourceList(spec.Resources.Requests)
}
