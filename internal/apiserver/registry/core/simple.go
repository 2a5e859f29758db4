package core

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// This file holds the core resources whose strategy is a few lines.

// ConfigMaps is core/v1 configmaps.
func ConfigMaps() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("configmaps"), Kind: "ConfigMap", SingularName: "configmap", Namespaced: true,
		ShortNames: []string{"cm"},
		New:        func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
	}, registry.Strategy[*corev1.ConfigMap]{
		Validate:       validation.ValidateConfigMap,
		ValidateUpdate: validation.ValidateConfigMapUpdate,
		Table: registry.NewTable([]metav1.TableColumnDefinition{
			{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
			registry.AgeColumn,
		}, func(cm *corev1.ConfigMap, now time.Time) []interface{} {
			return []interface{}{int64(len(cm.Data) + len(cm.BinaryData)), registry.Age(cm.CreationTimestamp, now)}
		}),
	})
}

// Secrets is core/v1 secrets.
func Secrets() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("secrets"), Kind: "Secret", SingularName: "secret", Namespaced: true,
		New:     func() runtime.Object { return &corev1.Secret{} },
		NewList: func() runtime.Object { return &corev1.SecretList{} },
	}, registry.Strategy[*corev1.Secret]{
		Default:        defaults.Secret,
		Validate:       validation.ValidateSecret,
		ValidateUpdate: validation.ValidateSecretUpdate,
		FieldSet:       func(s *corev1.Secret) fields.Set { return fields.Set{"type": string(s.Type)} },
		Table: registry.NewTable([]metav1.TableColumnDefinition{
			{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
			{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
			registry.AgeColumn,
		}, func(s *corev1.Secret, now time.Time) []interface{} {
			return []interface{}{string(s.Type), int64(len(s.Data)), registry.Age(s.CreationTimestamp, now)}
		}),
	})
}

// ServiceAccounts is core/v1 serviceaccounts.
func ServiceAccounts() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("serviceaccounts"), Kind: "ServiceAccount", SingularName: "serviceaccount", Namespaced: true,
		ShortNames: []string{"sa"}, Subresources: []string{"token"},
		New:     func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
	}, registry.Strategy[*corev1.ServiceAccount]{
		Table: registry.NewTable([]metav1.TableColumnDefinition{
			{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
			registry.AgeColumn,
		}, func(sa *corev1.ServiceAccount, now time.Time) []interface{} {
			return []interface{}{int64(len(sa.Secrets)), registry.Age(sa.CreationTimestamp, now)}
		}),
	})
}

// Endpoints is core/v1 endpoints.
func Endpoints() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("endpoints"), Kind: "Endpoints", SingularName: "endpoints", Namespaced: true,
		ShortNames: []string{"ep"}, AllowCreateOnUpdate: true,
		New:     func() runtime.Object { return &corev1.Endpoints{} },
		NewList: func() runtime.Object { return &corev1.EndpointsList{} },
	}, registry.Strategy[*corev1.Endpoints]{Table: endpointsTable})
}

// EventsStoragePrefix is where both events APIs keep events.
const EventsStoragePrefix = "/registry/core/events/"

// Events is core/v1 events; they expire ttl after their last update.
func Events(ttl time.Duration) *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("events"), Kind: "Event", SingularName: "event", Namespaced: true,
		ShortNames: []string{"ev"}, AllowCreateOnUpdate: true, TTL: ttl, StoragePrefix: EventsStoragePrefix,
		New:     func() runtime.Object { return &corev1.Event{} },
		NewList: func() runtime.Object { return &corev1.EventList{} },
	}, registry.Strategy[*corev1.Event]{
		FieldSet: EventFields,
		Table:    EventTable,
	})
}

// EventFields are the field-selector fields of an event.
func EventFields(e *corev1.Event) fields.Set {
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}

// LimitRanges is core/v1 limitranges. Like upstream they print the
// default NAME and CREATED AT columns.
func LimitRanges() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("limitranges"), Kind: "LimitRange", SingularName: "limitrange", Namespaced: true,
		ShortNames: []string{"limits"},
		New:        func() runtime.Object { return &corev1.LimitRange{} },
		NewList:    func() runtime.Object { return &corev1.LimitRangeList{} },
	}, registry.Strategy[*corev1.LimitRange]{})
}

// ResourceQuotas is core/v1 resourcequotas.
func ResourceQuotas() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("resourcequotas"), Kind: "ResourceQuota", SingularName: "resourcequota", Namespaced: true,
		ShortNames: []string{"quota"}, HasStatus: true,
		New:     func() runtime.Object { return &corev1.ResourceQuota{} },
		NewList: func() runtime.Object { return &corev1.ResourceQuotaList{} },
	}, registry.Strategy[*corev1.ResourceQuota]{Table: resourceQuotaTable})
}

// PodTemplates is core/v1 podtemplates.
func PodTemplates() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("podtemplates"), Kind: "PodTemplate", SingularName: "podtemplate", Namespaced: true,
		New:     func() runtime.Object { return &corev1.PodTemplate{} },
		NewList: func() runtime.Object { return &corev1.PodTemplateList{} },
	}, registry.Strategy[*corev1.PodTemplate]{
		Default: func(t *corev1.PodTemplate) { defaults.PodTemplateSpec(&t.Template) },
		Table:   podTemplateTable,
	})
}

// ReplicationControllers is core/v1 replicationcontrollers.
func ReplicationControllers() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("replicationcontrollers"), Kind: "ReplicationController", SingularName: "replicationcontroller",
		Namespaced: true, ShortNames: []string{"rc"}, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true, Subresources: []string{"scale"},
		New:     func() runtime.Object { return &corev1.ReplicationController{} },
		NewList: func() runtime.Object { return &corev1.ReplicationControllerList{} },
	}, registry.Strategy[*corev1.ReplicationController]{
		Default: func(rc *corev1.ReplicationController) {
			if rc.Spec.Replicas == nil {
				one := int32(1)
				rc.Spec.Replicas = &one
			}
			if rc.Spec.Template != nil {
				defaults.PodTemplateSpec(rc.Spec.Template)
				if len(rc.Spec.Selector) == 0 {
					rc.Spec.Selector = rc.Spec.Template.Labels
				}
			}
		},
		Table: replicationControllerTable,
	})
}

// PersistentVolumes is core/v1 persistentvolumes.
func PersistentVolumes() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("persistentvolumes"), Kind: "PersistentVolume", SingularName: "persistentvolume",
		ShortNames: []string{"pv"}, HasStatus: true,
		New:     func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
	}, registry.Strategy[*corev1.PersistentVolume]{
		PrepareForCreate: func(_ context.Context, pv *corev1.PersistentVolume) error {
			pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
			return nil
		},
		Default: func(pv *corev1.PersistentVolume) {
			if pv.Spec.PersistentVolumeReclaimPolicy == "" {
				pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
			}
			if pv.Spec.VolumeMode == nil {
				fs := corev1.PersistentVolumeFilesystem
				pv.Spec.VolumeMode = &fs
			}
		},
		Table: persistentVolumeTable,
	})
}

// PersistentVolumeClaims is core/v1 persistentvolumeclaims.
func PersistentVolumeClaims() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("persistentvolumeclaims"), Kind: "PersistentVolumeClaim", SingularName: "persistentvolumeclaim",
		Namespaced: true, ShortNames: []string{"pvc"}, HasStatus: true,
		New:     func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
	}, registry.Strategy[*corev1.PersistentVolumeClaim]{
		PrepareForCreate: func(_ context.Context, pvc *corev1.PersistentVolumeClaim) error {
			pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
			return nil
		},
		Default:        defaults.PersistentVolumeClaim,
		Validate:       validation.ValidatePersistentVolumeClaim,
		ValidateUpdate: validation.ValidatePersistentVolumeClaimUpdate,
		Table:          persistentVolumeClaimTable,
	})
}
