package registry

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// FieldGetters maps each field-selector field of a resource, besides
// metadata.name and metadata.namespace, to the function reading it. It is
// the cheap alternative to Strategy.FieldSet for resources watched with
// field selectors on every event (pods): a selector reads just the fields
// it names, with no set built.
type FieldGetters[T runtime.Object] map[string]func(obj T) string

// setOf is the whole field set the getters describe.
func (g FieldGetters[T]) setOf(obj T) fields.Set {
	set := make(fields.Set, len(g))
	for k, get := range g {
		set[k] = get(obj)
	}
	return set
}

// value reads one field; ok is false for a field the resource lacks.
func (g FieldGetters[T]) value(obj T, field string) (v string, ok bool) {
	get, ok := g[field]
	if !ok {
		return "", false
	}
	return get(obj), true
}

// objectFields presents one object's field-selector fields to a
// fields.Selector without building them all: metadata.name and
// metadata.namespace come from the metadata, the resource's own fields
// from its getters or, for a resource with only a FieldSet, from that
// set, built on first use. It answers exactly like the set FieldSet
// returns.
type objectFields struct {
	r   *Resource
	obj runtime.Object
	m   metav1.Object
	set fields.Set // the resource's own fields, once built
}

// Has reports whether the object has the field.
func (f *objectFields) Has(field string) bool {
	_, ok := f.lookup(field)
	return ok
}

// Get returns the field's value ("" for a field the object lacks, like a
// fields.Set).
func (f *objectFields) Get(field string) string {
	v, _ := f.lookup(field)
	return v
}

func (f *objectFields) lookup(field string) (string, bool) {
	switch {
	case field == "metadata.name":
		return f.m.GetName(), true
	case field == "metadata.namespace" && f.r.Namespaced:
		return f.m.GetNamespace(), true
	case f.r.hooks.fieldValue != nil:
		return f.r.hooks.fieldValue(f.obj, field)
	case f.r.hooks.fieldSet == nil:
		return "", false
	}
	if f.set == nil {
		f.set = f.r.hooks.fieldSet(f.obj)
	}
	v, ok := f.set[field]
	return v, ok
}

// Matches reports whether obj passes the label and field selectors (nil
// selects everything), with upstream's semantics: labels match the
// object's labels, fields its FieldSet.
func (r *Resource) Matches(obj runtime.Object, ls labels.Selector, fs fields.Selector) (bool, error) {
	selectsLabels := ls != nil && !ls.Empty()
	selectsFields := fs != nil && !fs.Empty()
	if !selectsLabels && !selectsFields {
		return true, nil
	}
	m, err := metaOf(obj)
	if err != nil {
		return false, err
	}
	if selectsLabels && !ls.Matches(labels.Set(m.GetLabels())) {
		return false, nil
	}
	if selectsFields && !fs.Matches(&objectFields{r: r, obj: obj, m: m}) {
		return false, nil
	}
	return true, nil
}
