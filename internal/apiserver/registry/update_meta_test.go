package registry

import (
	"testing"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestKeepsImmutableMetaAgreesWithUpstream: the shortcut may only skip the
// upstream metadata update validation when that would find nothing.
func TestKeepsImmutableMetaAgreesWithUpstream(t *testing.T) {
	now := metav1.NewTime(time.Unix(1700000000, 0))
	later := metav1.NewTime(now.Add(time.Second))
	grace := int64(30)
	old := func() *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "u1", ResourceVersion: "5", Generation: 2,
			CreationTimestamp: now, Finalizers: []string{"x/y"}}
	}
	tests := []struct {
		name     string
		edit     func(m, om *metav1.ObjectMeta)
		wantSkip bool
	}{
		{name: "labels changed only", edit: func(m, _ *metav1.ObjectMeta) { m.Labels = map[string]string{"a": "b"} }, wantSkip: true},
		{name: "generation raised", edit: func(m, _ *metav1.ObjectMeta) { m.Generation = 3 }, wantSkip: true},
		{name: "no resourceVersion", edit: func(m, _ *metav1.ObjectMeta) { m.ResourceVersion = "" }},
		{name: "generation decremented", edit: func(m, _ *metav1.ObjectMeta) { m.Generation = 1 }},
		{name: "name changed", edit: func(m, _ *metav1.ObjectMeta) { m.Name = "b" }},
		{name: "namespace changed", edit: func(m, _ *metav1.ObjectMeta) { m.Namespace = "other" }},
		{name: "uid changed", edit: func(m, _ *metav1.ObjectMeta) { m.UID = "u2" }},
		{name: "creationTimestamp changed", edit: func(m, _ *metav1.ObjectMeta) { m.CreationTimestamp = later }},
		{name: "deletionTimestamp set", edit: func(m, _ *metav1.ObjectMeta) { m.DeletionTimestamp = &later }},
		{name: "grace period set", edit: func(m, _ *metav1.ObjectMeta) { m.DeletionGracePeriodSeconds = &grace }},
		{name: "deleting, finalizer added", edit: func(m, om *metav1.ObjectMeta) {
			om.DeletionTimestamp, m.DeletionTimestamp = &later, &later
			m.Finalizers = append(m.Finalizers, "x/z")
		}},
		{name: "deleting, unchanged", edit: func(m, om *metav1.ObjectMeta) {
			om.DeletionTimestamp, m.DeletionTimestamp = &later, &later
			om.DeletionGracePeriodSeconds, m.DeletionGracePeriodSeconds = &grace, &grace
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, om := old(), old()
			tc.edit(m, om)
			skip := keepsImmutableMeta(m, om)
			upstream := apivalidation.ValidateObjectMetaAccessorUpdate(m, om, field.NewPath("metadata"))
			if skip != tc.wantSkip {
				t.Errorf("keepsImmutableMeta = %v, want %v", skip, tc.wantSkip)
			}
			if skip && len(upstream) > 0 {
				t.Errorf("skipped, but upstream validation finds %v", upstream)
			}
		})
	}
}
