package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Conversion serves a resource in a version other than the one it is
// stored in: requests are decoded into the served type and converted to the
// stored one; responses are converted back.
type Conversion struct {
	// StorageKind is the kind objects are stored as (Resource.New's kind).
	StorageKind schema.GroupVersionKind
	New         func() runtime.Object
	NewList     func() runtime.Object
	ToStorage   func(served runtime.Object) (runtime.Object, error)
	FromStorage func(stored runtime.Object) (runtime.Object, error)
}

// NewServed returns an empty object of the served version.
func (r *Resource) NewServed() runtime.Object {
	if r.Conversion != nil {
		return r.Conversion.New()
	}
	return r.New()
}

// ToStorage converts a served-version object to the stored type.
func (r *Resource) ToStorage(obj runtime.Object) (runtime.Object, error) {
	if r.Conversion == nil {
		return obj, nil
	}
	return r.Conversion.ToStorage(obj)
}

// FromStorage converts a stored object, or a list of them, to the served version.
func (r *Resource) FromStorage(obj runtime.Object) (runtime.Object, error) {
	c := r.Conversion
	if c == nil {
		return obj, nil
	}
	if !meta.IsListType(obj) {
		return c.FromStorage(obj)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	out := c.NewList()
	converted := make([]runtime.Object, 0, len(items))
	for _, it := range items {
		o, err := c.FromStorage(it)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", r.Kind, err)
		}
		converted = append(converted, o)
	}
	if err := meta.SetList(out, converted); err != nil {
		return nil, err
	}
	src, err := meta.ListAccessor(obj)
	if err != nil {
		return nil, err
	}
	dst, err := meta.ListAccessor(out)
	if err != nil {
		return nil, err
	}
	dst.SetResourceVersion(src.GetResourceVersion())
	dst.SetContinue(src.GetContinue())
	dst.SetRemainingItemCount(src.GetRemainingItemCount())
	return out, nil
}
