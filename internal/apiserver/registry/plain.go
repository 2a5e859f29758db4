package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Plain defines a resource whose strategy is metadata validation only;
// edit sets the remaining descriptor fields (short names, status, ...).
func Plain(gvr schema.GroupVersionResource, kind string, namespaced bool, newObj, newList func() runtime.Object, edit func(*Resource)) *Resource {
	r := Resource{GVR: gvr, Kind: kind, SingularName: lower(kind), Namespaced: namespaced, New: newObj, NewList: newList}
	if edit != nil {
		edit(&r)
	}
	return Define(r, Strategy[runtime.Object]{})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
