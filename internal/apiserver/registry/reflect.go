package registry

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// The helpers below treat every built-in type the same way: the top-level
// fields other than TypeMeta, ObjectMeta and Status are the "spec" (Spec,
// Data, Rules, Subsets, ...).

func structOf(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v
}

func isMetaField(name string) bool {
	return name == "TypeMeta" || name == "ObjectMeta" || name == "Status"
}

// specEqual reports whether a and b have semantically equal non-metadata,
// non-status fields.
func specEqual(a, b runtime.Object) bool {
	va, vb := structOf(a), structOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		if isMetaField(t.Field(i).Name) {
			continue
		}
		if !equality.Semantic.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

// copyStatus sets dst.Status to src.Status when the type has a status.
func copyStatus(dst, src runtime.Object) {
	d, s := structOf(dst).FieldByName("Status"), structOf(src).FieldByName("Status")
	if d.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// copySpec sets every non-metadata, non-status field of dst from src.
func copySpec(dst, src runtime.Object) {
	vd, vs := structOf(dst), structOf(src)
	t := vd.Type()
	for i := 0; i < t.NumField(); i++ {
		if isMetaField(t.Field(i).Name) {
			continue
		}
		vd.Field(i).Set(vs.Field(i))
	}
}

// resetStatus zeroes obj.Status.
func resetStatus(obj runtime.Object) {
	s := structOf(obj).FieldByName("Status")
	if s.IsValid() && s.CanSet() {
		s.Set(reflect.Zero(s.Type()))
	}
}
