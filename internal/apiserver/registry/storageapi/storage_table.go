package storageapi

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Default storage class annotations, GA and beta; either set to "true"
// marks the class used by claims that name none.
const (
	defaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

var (
	storageClassDocs = storagev1.StorageClass{}.SwaggerDoc()
	csiDriverDocs    = storagev1.CSIDriverSpec{}.SwaggerDoc()
	vaSpecDocs       = storagev1.VolumeAttachmentSpec{}.SwaggerDoc()
)

// storageClassTable prints the default class's name as "NAME (default)".
var storageClassTable = func() *registry.TableDef {
	t := registry.NewTable([]metav1.TableColumnDefinition{
		{Name: "Provisioner", Type: "string", Description: storageClassDocs["provisioner"]},
		{Name: "ReclaimPolicy", Type: "string", Description: storageClassDocs["reclaimPolicy"]},
		{Name: "VolumeBindingMode", Type: "string", Description: storageClassDocs["volumeBindingMode"]},
		{Name: "AllowVolumeExpansion", Type: "string", Description: storageClassDocs["allowVolumeExpansion"]},
		registry.AgeColumn,
	}, func(sc *storagev1.StorageClass, now time.Time) []interface{} {
		reclaim := string(corev1.PersistentVolumeReclaimDelete)
		if sc.ReclaimPolicy != nil {
			reclaim = string(*sc.ReclaimPolicy)
		}
		binding := string(storagev1.VolumeBindingImmediate)
		if sc.VolumeBindingMode != nil {
			binding = string(*sc.VolumeBindingMode)
		}
		return []interface{}{sc.Provisioner, reclaim, binding,
			sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion, registry.Age(sc.CreationTimestamp, now)}
	})
	t.Name = func(obj runtime.Object) string {
		sc := obj.(*storagev1.StorageClass)
		if sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true" {
			return sc.Name + " (default)"
		}
		return sc.Name
	}
	return t
}()

var csiDriverTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "AttachRequired", Type: "boolean", Description: csiDriverDocs["attachRequired"]},
	{Name: "PodInfoOnMount", Type: "boolean", Description: csiDriverDocs["podInfoOnMount"]},
	{Name: "StorageCapacity", Type: "boolean", Description: csiDriverDocs["storageCapacity"]},
	{Name: "TokenRequests", Type: "string", Description: csiDriverDocs["tokenRequests"]},
	{Name: "RequiresRepublish", Type: "boolean", Description: csiDriverDocs["requiresRepublish"]},
	{Name: "Modes", Type: "string", Description: csiDriverDocs["volumeLifecycleModes"]},
	registry.AgeColumn,
}, func(d *storagev1.CSIDriver, now time.Time) []interface{} {
	tokens := "<unset>"
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, 0, len(d.Spec.TokenRequests))
		for _, t := range d.Spec.TokenRequests {
			audiences = append(audiences, t.Audience)
		}
		tokens = strings.Join(audiences, ",")
	}
	modes := make([]string, 0, len(d.Spec.VolumeLifecycleModes))
	for _, m := range d.Spec.VolumeLifecycleModes {
		modes = append(modes, string(m))
	}
	return []interface{}{
		boolOr(d.Spec.AttachRequired, true), boolOr(d.Spec.PodInfoOnMount, false), boolOr(d.Spec.StorageCapacity, false),
		tokens, boolOr(d.Spec.RequiresRepublish, false),
		registry.StringOr(strings.Join(modes, ","), "<none>"), registry.Age(d.CreationTimestamp, now),
	}
})

var csiNodeTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
	registry.AgeColumn,
}, func(n *storagev1.CSINode, now time.Time) []interface{} {
	return []interface{}{int64(len(n.Spec.Drivers)), registry.Age(n.CreationTimestamp, now)}
})

// csiStorageCapacityTable has no AGE column, as upstream.
var csiStorageCapacityTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "StorageClassName", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]},
	{Name: "Capacity", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]},
}, func(c *storagev1.CSIStorageCapacity, _ time.Time) []interface{} {
	capacity := "<unset>"
	if c.Capacity != nil {
		capacity = c.Capacity.String()
	}
	return []interface{}{c.StorageClassName, capacity}
})

var volumeAttachmentTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Attacher", Type: "string", Format: "name", Description: vaSpecDocs["attacher"]},
	{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
	{Name: "Node", Type: "string", Description: vaSpecDocs["nodeName"]},
	{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
	registry.AgeColumn,
}, func(va *storagev1.VolumeAttachment, now time.Time) []interface{} {
	pv := ""
	if va.Spec.Source.PersistentVolumeName != nil {
		pv = *va.Spec.Source.PersistentVolumeName
	}
	return []interface{}{va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, registry.Age(va.CreationTimestamp, now)}
})

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
