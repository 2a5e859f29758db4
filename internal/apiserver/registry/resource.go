// Package registry holds what the API server knows about each served resource:
// its names, its Go types and its strategy (defaults, validation, status split,
// field selectors, table columns), plus the generic Store that applies Kubernetes
// object semantics (uid, generation, finalizers, graceful deletion, CAS) on top of
// the storage interface.
//
// A resource is one file under registry/<group>/ that returns a *Resource built
// with Define; the group's Resources function lists them.
package registry

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource describes one served group/version/resource.
type Resource struct {
	GVR          schema.GroupVersionResource
	Kind         string
	ListKind     string
	SingularName string
	Namespaced   bool
	ShortNames   []string
	Categories   []string
	// Verbs lists the verbs served on the collection/object; nil means all CRUD verbs.
	Verbs []string
	// Subresources served besides the object itself ("status", "scale", ...).
	Subresources []string

	// TracksGeneration bumps metadata.generation on spec changes.
	TracksGeneration bool
	// HasStatus splits status from spec: the main endpoint ignores status
	// changes and the status endpoint ignores everything else.
	HasStatus bool
	// KeepStatusOnCreate keeps the status a client sends on create (nodes);
	// otherwise a resource with a status subresource starts with an empty one.
	KeepStatusOnCreate bool
	// ReturnDeletedObject answers an immediate delete with the object rather
	// than a Status.
	ReturnDeletedObject bool
	// TTL, when set, makes objects expire that long after their last write
	// (events).
	TTL time.Duration
	// AllowCreateOnUpdate lets PUT create a missing object.
	AllowCreateOnUpdate bool

	// StoragePrefix is the etcd key prefix of the stored objects (without
	// namespace). Resources served in several versions share one prefix.
	StoragePrefix string

	// New and NewList make objects of the stored type.
	New     func() runtime.Object
	NewList func() runtime.Object
	// Conversion is set when the served version differs from the stored one.
	Conversion *Conversion
	// Review, when set, makes this a create-only resource that answers a
	// question (access reviews) and stores nothing.
	Review func(ctx context.Context, obj runtime.Object) (runtime.Object, error)

	hooks hooks
}

// hooks are the type-erased strategy functions; Define fills them from a
// typed Strategy.
type hooks struct {
	prepareForCreate     func(ctx context.Context, obj runtime.Object) error
	prepareForUpdate     func(obj, old runtime.Object)
	defaults             func(obj runtime.Object)
	validate             func(obj runtime.Object) field.ErrorList
	validateUpdate       func(obj, old runtime.Object) field.ErrorList
	validateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	prepareForSubUpdate  func(sub string, obj, old runtime.Object)
	fieldSet             func(obj runtime.Object) fields.Set
	fieldValue           func(obj runtime.Object, field string) (string, bool)
	gracefulDelete       func(obj runtime.Object, opts *metav1.DeleteOptions) (graceful bool, seconds int64)
	holdsDeletion        func(obj runtime.Object) bool
	allocate             func(ctx context.Context, obj runtime.Object) (undo func(), err error)
	afterDelete          func(ctx context.Context, obj runtime.Object)
	table                *TableDef
}

// Strategy is the per-resource behaviour, written once per resource file with
// the concrete Go type. Every field is optional.
type Strategy[T runtime.Object] struct {
	// PrepareForCreate resets fields users may not set on create (often status)
	// and may allocate things (cluster IPs); an error refuses the create.
	PrepareForCreate func(ctx context.Context, obj T) error
	// PrepareForUpdate copies fields from old that users may not change.
	PrepareForUpdate func(obj, old T)
	// Default fills in defaults; it runs on create, update and patch.
	Default func(obj T)
	// Validate checks a new object (metadata included).
	Validate func(obj T) field.ErrorList
	// ValidateUpdate checks an update (metadata included).
	ValidateUpdate func(obj, old T) field.ErrorList
	// ValidateStatusUpdate checks a status subresource update (and an
	// approval update: certificate signing requests).
	ValidateStatusUpdate func(obj, old T) field.ErrorList
	// PrepareForSubresourceUpdate copies from old what a write through
	// subresource ("status", "approval") may not change, beyond the spec.
	PrepareForSubresourceUpdate func(subresource string, obj, old T)
	// FieldSet returns the field-selector fields besides metadata.name and
	// metadata.namespace, which are always present.
	FieldSet func(obj T) fields.Set
	// Fields, instead of FieldSet, reads each field-selector field on its
	// own, so that a selector reads only the fields it names.
	Fields FieldGetters[T]
	// GracefulDelete says whether a delete only marks the object and for how
	// long (pods on nodes). It may also update obj (a namespace turns
	// Terminating).
	GracefulDelete func(obj T, opts *metav1.DeleteOptions) (bool, int64)
	// HoldsDeletion reports whether a marked object must stay even with no
	// finalizers left (a namespace with spec.finalizers).
	HoldsDeletion func(obj T) bool
	// Allocate reserves shared values (cluster IPs, node ports) for a new
	// object just before validation; undo releases them if the create fails.
	Allocate func(ctx context.Context, obj T) (undo func(), err error)
	// AfterDelete runs once an object is removed from storage.
	AfterDelete func(ctx context.Context, obj T)
	// Table defines the columns printed by kubectl get.
	Table *TableDef
}

// Define builds a Resource from its descriptor and typed strategy.
func Define[T runtime.Object](r Resource, s Strategy[T]) *Resource {
	if r.ListKind == "" {
		r.ListKind = r.Kind + "List"
	}
	if r.StoragePrefix == "" {
		group := r.GVR.Group
		if group == "" {
			group = "core"
		}
		r.StoragePrefix = "/registry/" + group + "/" + r.GVR.Resource + "/"
	}
	if r.HasStatus && !contains(r.Subresources, "status") {
		r.Subresources = append(r.Subresources, "status")
	}
	h := &r.hooks
	if f := s.PrepareForCreate; f != nil {
		h.prepareForCreate = func(ctx context.Context, o runtime.Object) error { return f(ctx, o.(T)) }
	}
	if f := s.PrepareForUpdate; f != nil {
		h.prepareForUpdate = func(o, old runtime.Object) { f(o.(T), old.(T)) }
	}
	if f := s.Default; f != nil {
		h.defaults = func(o runtime.Object) { f(o.(T)) }
	}
	if f := s.Validate; f != nil {
		h.validate = func(o runtime.Object) field.ErrorList { return f(o.(T)) }
	}
	if f := s.ValidateUpdate; f != nil {
		h.validateUpdate = func(o, old runtime.Object) field.ErrorList { return f(o.(T), old.(T)) }
	}
	if f := s.ValidateStatusUpdate; f != nil {
		h.validateStatusUpdate = func(o, old runtime.Object) field.ErrorList { return f(o.(T), old.(T)) }
	}
	if f := s.PrepareForSubresourceUpdate; f != nil {
		h.prepareForSubUpdate = func(sub string, o, old runtime.Object) { f(sub, o.(T), old.(T)) }
	}
	if f := s.FieldSet; f != nil {
		h.fieldSet = func(o runtime.Object) fields.Set { return f(o.(T)) }
	}
	if g := s.Fields; g != nil {
		h.fieldSet = func(o runtime.Object) fields.Set { return g.setOf(o.(T)) }
		h.fieldValue = func(o runtime.Object, field string) (string, bool) { return g.value(o.(T), field) }
	}
	if f := s.GracefulDelete; f != nil {
		h.gracefulDelete = func(o runtime.Object, opts *metav1.DeleteOptions) (bool, int64) { return f(o.(T), opts) }
	}
	if f := s.HoldsDeletion; f != nil {
		h.holdsDeletion = func(o runtime.Object) bool { return f(o.(T)) }
	}
	if f := s.Allocate; f != nil {
		h.allocate = func(ctx context.Context, o runtime.Object) (func(), error) { return f(ctx, o.(T)) }
	}
	if f := s.AfterDelete; f != nil {
		h.afterDelete = func(ctx context.Context, o runtime.Object) { f(ctx, o.(T)) }
	}
	h.table = s.Table
	return &r
}

// GroupResource is the resource's group and plural name.
func (r *Resource) GroupResource() schema.GroupResource { return r.GVR.GroupResource() }

// GroupKind is the resource's group and kind.
func (r *Resource) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.GVR.Group, Kind: r.Kind}
}

// GroupVersionKind is the kind in the served version.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GVR.GroupVersion().WithKind(r.Kind)
}

// HasSubresource reports whether sub is served.
func (r *Resource) HasSubresource(sub string) bool { return contains(r.Subresources, sub) }

// AllowsVerb reports whether verb is served on this resource.
func (r *Resource) AllowsVerb(verb string) bool {
	if r.Verbs == nil {
		return verb != ""
	}
	return contains(r.Verbs, verb)
}

// ServedVerbs lists the verbs for discovery.
func (r *Resource) ServedVerbs() []string {
	if r.Verbs != nil {
		return r.Verbs
	}
	return []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
}

// ApplyDefaults fills in the resource's defaults on obj.
func (r *Resource) ApplyDefaults(obj runtime.Object) {
	if r.hooks.defaults != nil {
		r.hooks.defaults(obj)
	}
}

// Table returns the resource's table definition, or nil for the default.
func (r *Resource) Table() *TableDef { return r.hooks.table }

// SupportedFields returns the field selector keys this resource accepts.
func (r *Resource) SupportedFields() map[string]bool {
	out := map[string]bool{"metadata.name": true}
	if r.Namespaced {
		out["metadata.namespace"] = true
	}
	if r.hooks.fieldSet != nil {
		for k := range r.hooks.fieldSet(r.New()) {
			out[k] = true
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("registry: %T has no object metadata", obj)
	}
	return m, nil
}
