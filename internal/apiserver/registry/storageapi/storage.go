// Package storageapi defines the storage.k8s.io/v1 resources.
package storageapi

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: r}
}

// Resources lists the storage.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(gvr("csidrivers"), "CSIDriver", false,
			func() runtime.Object { return &storagev1.CSIDriver{} },
			func() runtime.Object { return &storagev1.CSIDriverList{} }, nil).WithTable(csiDriverTable),
		registry.Plain(gvr("csinodes"), "CSINode", false,
			func() runtime.Object { return &storagev1.CSINode{} },
			func() runtime.Object { return &storagev1.CSINodeList{} }, nil).WithTable(csiNodeTable),
		registry.Plain(gvr("csistoragecapacities"), "CSIStorageCapacity", true,
			func() runtime.Object { return &storagev1.CSIStorageCapacity{} },
			func() runtime.Object { return &storagev1.CSIStorageCapacityList{} }, nil).WithTable(csiStorageCapacityTable),
		registry.Plain(gvr("storageclasses"), "StorageClass", false,
			func() runtime.Object { return &storagev1.StorageClass{} },
			func() runtime.Object { return &storagev1.StorageClassList{} },
			func(r *registry.Resource) { r.ShortNames = []string{"sc"} }).WithTable(storageClassTable),
		registry.Plain(gvr("volumeattachments"), "VolumeAttachment", false,
			func() runtime.Object { return &storagev1.VolumeAttachment{} },
			func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
			func(r *registry.Resource) { r.HasStatus = true }).WithTable(volumeAttachmentTable),
	}
}
