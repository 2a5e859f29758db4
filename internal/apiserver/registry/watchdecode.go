package registry

import (
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// sharedDecodes is how many recently decoded watch events a store keeps
// for its other watchers: a watcher up to that many events behind the
// first one still finds the event decoded.
const sharedDecodes = 1024

// eventKey identifies the value a watch event carries: a key's value at a
// revision.
type eventKey struct {
	key string
	rev int64
}

// decodedEvents shares decoded watch events among the watchers of one
// store: every watcher of pods sees every pod event, and decoding it once
// instead of once per watcher saves most of the watch path's allocations.
// The decoded objects are never handed out, only shallow copies of them
// (see shallowCopy), so that a watcher may set the kind of its copy.
type decodedEvents struct {
	// mu guards objs and ring; ring holds the keys of objs in insertion
	// order, next is the slot to reuse.
	mu   sync.Mutex
	objs map[eventKey]runtime.Object
	ring []eventKey
	next int
}

// decodeEvent returns the object of a watch event's value: a shallow copy
// of the one decoded for an earlier watcher, or a fresh decode.
func (s *Store) decodeEvent(key string, value []byte, rev int64) (runtime.Object, error) {
	if !s.shareDecodes {
		return s.decodeKV(value, rev)
	}
	d := &s.decoded
	k := eventKey{key: key, rev: rev}
	d.mu.Lock()
	obj, ok := d.objs[k]
	d.mu.Unlock()
	if ok {
		return shallowCopy(obj), nil
	}
	obj, err := s.decodeKV(value, rev)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.objs == nil {
		d.objs = make(map[eventKey]runtime.Object, sharedDecodes)
		d.ring = make([]eventKey, sharedDecodes)
	}
	if _, dup := d.objs[k]; !dup {
		delete(d.objs, d.ring[d.next])
		d.ring[d.next] = k
		d.next = (d.next + 1) % len(d.ring)
		d.objs[k] = obj
	}
	d.mu.Unlock()
	return shallowCopy(obj), nil
}

// sharesDecodes reports whether r's watch events may share decoded
// objects: built-in types served as stored. A conversion may change its
// input, and unstructured objects keep their kind in a shared map.
func sharesDecodes(r *Resource) bool {
	if r.Conversion != nil || r.New == nil {
		return false
	}
	_, unstructured := r.New().(runtime.Unstructured)
	return !unstructured
}

// shallowCopy copies the top-level struct of a typed object: the copy's
// own fields (its kind, for one) can be set without touching obj, while
// everything below them stays shared and must only be read.
func shallowCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(runtime.Object)
}
