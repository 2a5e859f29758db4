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

// Namespaces is core/v1 namespaces. Deleting one turns it Terminating; the
// namespace controller empties it and clears spec.finalizers through the
// finalize subresource, which removes it.
func Namespaces() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("namespaces"), Kind: "Namespace", SingularName: "namespace",
		ShortNames: []string{"ns"}, HasStatus: true, Subresources: []string{"finalize"},
		Verbs:   []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		New:     func() runtime.Object { return &corev1.Namespace{} },
		NewList: func() runtime.Object { return &corev1.NamespaceList{} },
	}, registry.Strategy[*corev1.Namespace]{
		PrepareForCreate: func(_ context.Context, ns *corev1.Namespace) error {
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
			// The "kubernetes" finalizer is added on create only, so the
			// finalize subresource can remove it for good.
			defaults.Namespace(ns)
			return nil
		},
		PrepareForUpdate: func(ns, old *corev1.Namespace) {
			ns.Spec.Finalizers = old.Spec.Finalizers
		},
		Default: func(ns *corev1.Namespace) {
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		},
		Validate:             validation.ValidateNamespace,
		ValidateUpdate:       validation.ValidateNamespaceUpdate,
		ValidateStatusUpdate: validation.ValidateNamespaceUpdate,
		FieldSet: func(ns *corev1.Namespace) fields.Set {
			return fields.Set{"status.phase": string(ns.Status.Phase)}
		},
		GracefulDelete: func(ns *corev1.Namespace, _ *metav1.DeleteOptions) (bool, int64) {
			ns.Status.Phase = corev1.NamespaceTerminating
			return false, 0
		},
		HoldsDeletion: func(ns *corev1.Namespace) bool { return len(ns.Spec.Finalizers) > 0 },
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				{Name: "Status", Type: "string", Description: "The status of the namespace"},
				registry.AgeColumn,
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				ns := obj.(*corev1.Namespace)
				return []interface{}{string(ns.Status.Phase), registry.Age(ns.CreationTimestamp, now)}
			},
		},
	})
}
