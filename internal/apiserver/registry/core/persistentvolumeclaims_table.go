package core

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var (
	pvcSpecDocs   = corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	pvcStatusDocs = corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
)

// persistentVolumeClaimTable shows CAPACITY and ACCESS MODES only once the
// claim is bound to a volume, from the claim's status.
var persistentVolumeClaimTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Status", Type: "string", Description: pvcStatusDocs["phase"]},
	{Name: "Volume", Type: "string", Description: pvcSpecDocs["volumeName"]},
	{Name: "Capacity", Type: "string", Description: pvcStatusDocs["capacity"]},
	{Name: "Access Modes", Type: "string", Description: pvcStatusDocs["accessModes"]},
	{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
	{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
	registry.AgeColumn,
	{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvcSpecDocs["volumeMode"]},
}, func(pvc *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		size := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity, modes = size.String(), accessModes(pvc.Status.AccessModes)
	}
	class := stringPtrOr(pvc.Spec.StorageClassName, "")
	if v, ok := pvc.Annotations[betaStorageClassAnnotation]; ok {
		class = v
	}
	return []interface{}{
		phase, pvc.Spec.VolumeName, capacity, modes, class,
		stringPtrOr(pvc.Spec.VolumeAttributesClassName, "<unset>"),
		registry.Age(pvc.CreationTimestamp, now), volumeMode(pvc.Spec.VolumeMode),
	}
})
