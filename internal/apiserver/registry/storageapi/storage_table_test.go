package storageapi

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func byKind(kind string) *registry.Resource {
	for _, r := range Resources() {
		if r.Kind == kind {
			return r
		}
	}
	return nil
}

func TestStorageTables(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := func(name string, annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Annotations: annotations, CreationTimestamp: metav1.NewTime(now.Add(-4 * time.Minute))}
	}
	scCols := []string{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"}
	retain, wait, yes, no := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer, true, false
	pv := "pv-1"
	capacity := resource.MustParse("100Gi")
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "default storage class", Res: byKind("StorageClass"), WantColumns: scCols,
			Obj: &storagev1.StorageClass{ObjectMeta: m("local-path", map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}),
				Provisioner: "skiff.dev/local-path", ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: &yes},
			WantCells: []interface{}{"local-path (default)", "skiff.dev/local-path", "Retain", "WaitForFirstConsumer", true, "4m"},
		},
		{
			Name: "storage class with the beta default annotation and defaults unset", Res: byKind("StorageClass"), WantColumns: scCols,
			Obj:       &storagev1.StorageClass{ObjectMeta: m("old", map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}), Provisioner: "x"},
			WantCells: []interface{}{"old (default)", "x", "Delete", "Immediate", false, "4m"},
		},
		{
			Name: "non-default storage class", Res: byKind("StorageClass"), WantColumns: scCols,
			Obj:       &storagev1.StorageClass{ObjectMeta: m("slow", map[string]string{"storageclass.kubernetes.io/is-default-class": "false"}), Provisioner: "x"},
			WantCells: []interface{}{"slow", "x", "Delete", "Immediate", false, "4m"},
		},
		{
			Name: "csi driver", Res: byKind("CSIDriver"),
			WantColumns: []string{"NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"},
			Obj: &storagev1.CSIDriver{ObjectMeta: m("csi.example.com", nil), Spec: storagev1.CSIDriverSpec{
				AttachRequired: &no, PodInfoOnMount: &yes, TokenRequests: []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "gcp"}},
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral},
			}},
			WantCells: []interface{}{"csi.example.com", false, true, false, "vault,gcp", false, "Persistent,Ephemeral", "4m"},
		},
		{
			Name: "csi driver with nothing set", Res: byKind("CSIDriver"),
			WantColumns: []string{"NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"},
			Obj:         &storagev1.CSIDriver{ObjectMeta: m("bare", nil)},
			WantCells:   []interface{}{"bare", true, false, false, "<unset>", false, "<none>", "4m"},
		},
		{
			Name: "csi node", Res: byKind("CSINode"), WantColumns: []string{"NAME", "DRIVERS", "AGE"},
			Obj:       &storagev1.CSINode{ObjectMeta: m("n1", nil), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a"}, {Name: "b"}}}},
			WantCells: []interface{}{"n1", int64(2), "4m"},
		},
		{
			Name: "csi storage capacity", Res: byKind("CSIStorageCapacity"), WantColumns: []string{"NAME", "STORAGECLASSNAME", "CAPACITY"},
			Obj:       &storagev1.CSIStorageCapacity{ObjectMeta: m("cap", nil), StorageClassName: "fast", Capacity: &capacity},
			WantCells: []interface{}{"cap", "fast", "100Gi"},
		},
		{
			Name: "volume attachment", Res: byKind("VolumeAttachment"), WantColumns: []string{"NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"},
			Obj: &storagev1.VolumeAttachment{ObjectMeta: m("csi-123", nil),
				Spec:   storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "n1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv}},
				Status: storagev1.VolumeAttachmentStatus{Attached: true}},
			WantCells: []interface{}{"csi-123", "csi.example.com", "pv-1", "n1", true, "4m"},
		},
	})
}
