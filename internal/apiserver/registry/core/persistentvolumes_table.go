package core

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// betaStorageClassAnnotation is the storage class annotation that predates
// spec.storageClassName and still wins over it.
const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

var (
	pvSpecDocs   = corev1.PersistentVolumeSpec{}.SwaggerDoc()
	pvStatusDocs = corev1.PersistentVolumeStatus{}.SwaggerDoc()
)

var persistentVolumeTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Capacity", Type: "string", Description: pvSpecDocs["capacity"]},
	{Name: "Access Modes", Type: "string", Description: pvSpecDocs["accessModes"]},
	{Name: "Reclaim Policy", Type: "string", Description: pvSpecDocs["persistentVolumeReclaimPolicy"]},
	{Name: "Status", Type: "string", Description: pvStatusDocs["phase"]},
	{Name: "Claim", Type: "string", Description: pvSpecDocs["claimRef"]},
	{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
	{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
	{Name: "Reason", Type: "string", Description: pvStatusDocs["reason"]},
	registry.AgeColumn,
	{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvSpecDocs["volumeMode"]},
}, func(pv *corev1.PersistentVolume, now time.Time) []interface{} {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if v, ok := pv.Annotations[betaStorageClassAnnotation]; ok {
		class = v
	}
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	return []interface{}{
		size.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, stringPtrOr(pv.Spec.VolumeAttributesClassName, "<unset>"),
		pv.Status.Reason, registry.Age(pv.CreationTimestamp, now), volumeMode(pv.Spec.VolumeMode),
	}
})

// accessModes abbreviates access modes (RWO, ROX, RWX, RWOP) in that fixed
// order, each once.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		for _, have := range modes {
			if have == m.mode {
				out = append(out, m.short)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}

func stringPtrOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
