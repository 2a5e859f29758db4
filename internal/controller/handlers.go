package controller

import (
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// MetaOf returns the object metadata of an informer event object,
// unwrapping the tombstone a delete handler may get.
func MetaOf(obj any) (metav1.Object, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	return m, ok
}

// KeyOf returns the "namespace/name" key of an informer event object.
func KeyOf(obj any) (string, bool) {
	m, ok := MetaOf(obj)
	if !ok {
		return "", false
	}
	return Key(m.GetNamespace(), m.GetName()), true
}

// Key joins a namespace and a name into a work-queue key.
func Key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// SplitKey is the inverse of Key.
func SplitKey(key string) (namespace, name string) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return "", key
	}
	return ns, name
}

// EnqueueHandler returns informer handlers that enqueue every event's object
// for which keep (optional) returns true.
func EnqueueHandler(q Enqueuer, keep func(metav1.Object) bool) cache.ResourceEventHandler {
	add := func(obj any) {
		m, ok := MetaOf(obj)
		if !ok || (keep != nil && !keep(m)) {
			return
		}
		q.Enqueue(Key(m.GetNamespace(), m.GetName()))
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// OwnerHandler turns events of dependents (pods, replica sets) into keys of
// their controllers: the owner named by the controllerRef when it is of
// kind Owner and still exists with that UID, or, for dependents without a
// controller, the owners that could adopt them.
type OwnerHandler struct {
	Queue Enqueuer
	// Owner is the group and kind of the controllers to enqueue.
	Owner schema.GroupKind
	// Get reads an owner from its lister.
	Get func(namespace, name string) (metav1.Object, error)
	// Orphan returns the keys of owners whose selector matches an orphan
	// dependent; nil when the controller does not adopt.
	Orphan func(dependent metav1.Object) []string
	// Expectations, when set, is told about dependents appearing and going.
	Expectations *Expectations
}

var _ cache.ResourceEventHandler = (*OwnerHandler)(nil)

// OnAdd handles a new dependent.
func (h *OwnerHandler) OnAdd(obj any, _ bool) {
	m, ok := MetaOf(obj)
	if !ok {
		return
	}
	if m.GetDeletionTimestamp() != nil {
		// Seen for the first time while already going away (e.g. after a
		// relist): count it as deleted so expectations do not wait for it.
		h.OnDelete(obj)
		return
	}
	if ref := metav1.GetControllerOf(m); ref != nil {
		if key := h.resolve(m.GetNamespace(), ref); key != "" {
			if h.Expectations != nil {
				h.Expectations.CreationObserved(key)
			}
			h.Queue.Enqueue(key)
		}
		return
	}
	h.enqueueOrphan(m)
}

// OnUpdate handles a changed dependent.
func (h *OwnerHandler) OnUpdate(oldObj, newObj any) {
	old, ok1 := MetaOf(oldObj)
	cur, ok2 := MetaOf(newObj)
	if !ok1 || !ok2 || old.GetResourceVersion() == cur.GetResourceVersion() {
		return
	}
	labelsChanged := !maps.Equal(old.GetLabels(), cur.GetLabels())
	if cur.GetDeletionTimestamp() != nil {
		// A graceful delete: the owner may replace it now.
		h.OnDelete(newObj)
		if labelsChanged {
			h.OnDelete(oldObj)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	refChanged := !sameRef(oldRef, curRef)
	if refChanged && oldRef != nil {
		if key := h.resolve(old.GetNamespace(), oldRef); key != "" {
			h.Queue.Enqueue(key)
		}
	}
	if curRef != nil {
		if key := h.resolve(cur.GetNamespace(), curRef); key != "" {
			h.Queue.Enqueue(key)
		}
		return
	}
	if labelsChanged || refChanged {
		h.enqueueOrphan(cur)
	}
}

// OnDelete handles a dependent that is gone or going.
func (h *OwnerHandler) OnDelete(obj any) {
	m, ok := MetaOf(obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(m)
	if ref == nil {
		return
	}
	key := h.resolve(m.GetNamespace(), ref)
	if key == "" {
		return
	}
	if h.Expectations != nil {
		h.Expectations.DeletionObserved(key, string(m.GetUID()))
	}
	h.Queue.Enqueue(key)
}

func (h *OwnerHandler) enqueueOrphan(m metav1.Object) {
	if h.Orphan == nil {
		return
	}
	for _, key := range h.Orphan(m) {
		h.Queue.Enqueue(key)
	}
}

// resolve returns the key of the owner ref points to, or "" when it is not
// of our kind or no longer exists with that UID.
func (h *OwnerHandler) resolve(namespace string, ref *metav1.OwnerReference) string {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || ref.Kind != h.Owner.Kind || gv.Group != h.Owner.Group {
		return ""
	}
	owner, err := h.Get(namespace, ref.Name)
	if err != nil || owner == nil || owner.GetUID() != ref.UID {
		return ""
	}
	return Key(namespace, ref.Name)
}

func sameRef(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

// KeysSelecting returns the keys of the owners whose label selector matches
// obj's labels; an empty or invalid selector matches nothing.
func KeysSelecting[T metav1.Object](owners []T, selector func(T) *metav1.LabelSelector, obj metav1.Object) []string {
	var keys []string
	for _, o := range owners {
		sel, err := metav1.LabelSelectorAsSelector(selector(o))
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(obj.GetLabels())) {
			continue
		}
		keys = append(keys, Key(o.GetNamespace(), o.GetName()))
	}
	return keys
}
