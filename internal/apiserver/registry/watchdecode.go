package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/recent"
	"github.com/skiffhq/skiff/internal/storage"
)

// sharedDecodes is how many recently decoded watch events a store keeps
// for its other watchers and for updates: a watcher up to that many
// events behind the first one still finds the event decoded, and so does
// an update of an object changed about as recently (a pod's binding
// follows its creation within a second or so).
const sharedDecodes = 2048

// maxSharedValue bounds the stored size of the objects kept decoded, so
// that the memo stays small next to the watch cache's ring (a ConfigMap
// may be 1 MiB); larger ones are decoded per watcher.
const maxSharedValue = 32 << 10

// eventKey identifies a value a watch event carries: a key's value at a
// revision, or (prev) its value before that revision.
type eventKey struct {
	key  string
	rev  int64
	prev bool
}

// decodeEvent returns the object of a watch event's value: the one
// decoded for an earlier watcher of this store, or a fresh decode. Every
// watcher of pods sees every pod event; decoding it once instead of once
// per watcher saves most of the watch path's allocations.
//
// The objects are shared among watchers, so they carry the kind they are
// served with, set here before any watcher sees them, and must only be
// read: encoding them finds the kind set and writes nothing.
func (s *Store) decodeEvent(key string, value []byte, rev int64) (runtime.Object, error) {
	return s.decodeShared(eventKey{key: key, rev: rev}, value)
}

// decodePrev is decodeEvent for the previous value of a modified object,
// which watches with selectors need. When the storage says which revision
// that value was written at, it is the value of the earlier event for the
// key, most likely decoded already.
func (s *Store) decodePrev(ev storage.Event) (runtime.Object, error) {
	if ev.PrevRevision != 0 {
		return s.decodeShared(eventKey{key: ev.Key, rev: ev.PrevRevision}, ev.PrevValue)
	}
	return s.decodeShared(eventKey{key: ev.Key, rev: ev.Revision, prev: true}, ev.PrevValue)
}

func (s *Store) decodeShared(k eventKey, value []byte) (runtime.Object, error) {
	if s.decoded == nil {
		return s.decodeKV(value, k.rev)
	}
	if obj, ok := s.decoded.Get(k); ok {
		return obj, nil
	}
	obj, err := s.decodeKV(value, k.rev)
	if err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(s.Resource.GroupVersionKind())
	if len(value) <= maxSharedValue {
		s.decoded.Add(k, obj)
	}
	return obj, nil
}

// decodeStored decodes a stored value read from the storage: a copy of
// the object a watcher decoded for that key and revision, which costs a
// fraction of a decode, or a fresh decode. Either way the object is the
// caller's, with no kind set.
func (s *Store) decodeStored(kv storage.KeyValue) (runtime.Object, error) {
	if s.decoded != nil {
		if shared, ok := s.decoded.Get(eventKey{key: kv.Key, rev: kv.Revision}); ok {
			return ownCopy(shared), nil
		}
	}
	return s.decodeKV(kv.Value, kv.Revision)
}

// decodeForUpdate is decodeStored for an update, which needs two objects:
// priv, the caller's own, to hand to the update function, and old, to
// compare against. When readOnly says the caller only reads old, old is
// the object a watcher decoded for that key and revision, shared and
// never to be written nor put into another object; otherwise it is the
// caller's too. A value no watcher decoded is decoded once and copied.
func (s *Store) decodeForUpdate(kv storage.KeyValue, readOnly bool) (priv, old runtime.Object, err error) {
	if s.decoded != nil {
		if shared, ok := s.decoded.Get(eventKey{key: kv.Key, rev: kv.Revision}); ok {
			priv = ownCopy(shared)
			if readOnly {
				return priv, shared, nil
			}
			return priv, ownCopy(shared), nil
		}
	}
	old, err = s.decodeKV(kv.Value, kv.Revision)
	if err != nil {
		return nil, nil, err
	}
	return old.DeepCopyObject(), old, nil
}

// ownCopy is a deep copy of a shared decoded object, without the kind the
// shared one carries.
func ownCopy(shared runtime.Object) runtime.Object {
	obj := shared.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return obj
}

// newDecodedEvents returns the memo of decoded events for r's watchers,
// or nil when they may not share decoded objects. They may for built-in
// types served as stored: a conversion may change its input, and
// unstructured objects keep their kind in a shared map.
func newDecodedEvents(r *Resource) *recent.Memo[eventKey, runtime.Object] {
	if r.Conversion != nil || r.New == nil {
		return nil
	}
	if _, unstructured := r.New().(runtime.Unstructured); unstructured {
		return nil
	}
	return recent.New[eventKey, runtime.Object](sharedDecodes)
}
