package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// absentOwnersSize bounds the cache of owners known not to exist.
const absentOwnersSize = 500

// errInvalidOwner marks a cluster-scoped object naming a namespaced owner,
// which can never resolve.
var errInvalidOwner = errors.New("cluster-scoped object has a namespaced owner")

// absentKey names an owner that was looked up and not found.
type absentKey struct {
	uid       types.UID
	namespace string
}

// absentOwners remembers recently missing owners so the dependents of one
// deleted owner cost one lookup, not one each.
type absentOwners struct {
	// mu guards keys and order.
	mu    sync.Mutex
	keys  map[absentKey]bool
	order []absentKey
	size  int
}

func newAbsentOwners(size int) *absentOwners {
	return &absentOwners{keys: map[absentKey]bool{}, size: size}
}

func (a *absentOwners) has(k absentKey) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[k]
}

func (a *absentOwners) add(k absentKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys[k] {
		return
	}
	if len(a.order) >= a.size {
		delete(a.keys, a.order[0])
		a.order = a.order[1:]
	}
	a.keys[k] = true
	a.order = append(a.order, k)
}

// mapping resolves an apiVersion and kind to a resource and its scope.
func (gc *Collector) mapping(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	m, err := gc.mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("map %s %s: %w", apiVersion, kind, err)
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// getObject reads an object's metadata live.
func (gc *Collector) getObject(ctx context.Context, id objectID) (*metav1.PartialObjectMetadata, error) {
	gvr, namespaced, err := gc.mapping(id.APIVersion, id.Kind)
	if err != nil {
		return nil, err
	}
	ns := ""
	if namespaced {
		ns = id.Namespace
	}
	return gc.metadata.Resource(gvr).Namespace(ns).Get(ctx, id.Name, metav1.GetOptions{})
}

// lookupOwner reports whether the owner ref names is gone (dangling) and
// otherwise returns it. dependent is the object holding ref.
func (gc *Collector) lookupOwner(ctx context.Context, dependent objectID, ref metav1.OwnerReference) (bool, *metav1.PartialObjectMetadata, error) {
	if gc.absent.has(absentKey{ref.UID, dependent.Namespace}) || gc.absent.has(absentKey{ref.UID, ""}) {
		return true, nil, nil
	}
	gvr, namespaced, err := gc.mapping(ref.APIVersion, ref.Kind)
	if err != nil {
		return false, nil, err
	}
	key := absentKey{uid: ref.UID}
	if namespaced {
		if dependent.Namespace == "" {
			return false, nil, errInvalidOwner
		}
		key.namespace = dependent.Namespace
	}
	owner, err := gc.metadata.Resource(gvr).Namespace(key.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.add(key)
		return true, nil, nil
	case err != nil:
		return false, nil, err
	case owner.UID != ref.UID:
		gc.absent.add(key)
		return true, nil, nil
	}
	return false, owner, nil
}

// patchMetadata merge-patches the metadata of the live object id with
// change(latest), guarded by the latest resourceVersion and the UID, and
// retries on conflicts. change returns nil when nothing needs doing.
func (gc *Collector) patchMetadata(ctx context.Context, id objectID, change func(*metav1.PartialObjectMetadata) map[string]any) error {
	gvr, namespaced, err := gc.mapping(id.APIVersion, id.Kind)
	if err != nil {
		return err
	}
	ns := ""
	if namespaced {
		ns = id.Namespace
	}
	client := gc.metadata.Resource(gvr).Namespace(ns)
	for attempt := 0; ; attempt++ {
		latest, err := client.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if latest.UID != id.UID {
			return nil
		}
		fields := change(latest)
		if fields == nil {
			return nil
		}
		fields["resourceVersion"] = latest.ResourceVersion
		fields["uid"] = latest.UID
		patch, err := json.Marshal(map[string]any{"metadata": fields})
		if err != nil {
			return err
		}
		_, err = client.Patch(ctx, id.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err) && attempt < 5:
			continue
		default:
			return fmt.Errorf("patch %s %s/%s: %w", id.Kind, id.Namespace, id.Name, err)
		}
	}
}

// removeFinalizer drops finalizer from the live object id.
func (gc *Collector) removeFinalizer(ctx context.Context, id objectID, finalizer string) error {
	return gc.patchMetadata(ctx, id, func(m *metav1.PartialObjectMetadata) map[string]any {
		if !slices.Contains(m.Finalizers, finalizer) {
			return nil
		}
		var keep []string
		for _, f := range m.Finalizers {
			if f != finalizer {
				keep = append(keep, f)
			}
		}
		return map[string]any{"finalizers": keep}
	})
}

// removeOwnerRefs drops the ownerReferences to the given owners from the
// live object id.
func (gc *Collector) removeOwnerRefs(ctx context.Context, id objectID, owners []types.UID) error {
	return gc.patchMetadata(ctx, id, func(m *metav1.PartialObjectMetadata) map[string]any {
		var keep []metav1.OwnerReference
		for _, ref := range m.OwnerReferences {
			if !slices.Contains(owners, ref.UID) {
				keep = append(keep, ref)
			}
		}
		if len(keep) == len(m.OwnerReferences) {
			return nil
		}
		return map[string]any{"ownerReferences": keep}
	})
}

// unblockOwnerRefs sets blockOwnerDeletion=false on every ownerReference of
// the live object id (breaking a foreground deletion cycle).
func (gc *Collector) unblockOwnerRefs(ctx context.Context, id objectID) error {
	return gc.patchMetadata(ctx, id, func(m *metav1.PartialObjectMetadata) map[string]any {
		refs := slices.Clone(m.OwnerReferences)
		changed := false
		for i := range refs {
			if blocks(&refs[i]) {
				f := false
				refs[i].BlockOwnerDeletion = &f
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return map[string]any{"ownerReferences": refs}
	})
}

// deleteObject deletes the live object id (if it still has that UID) with
// the given propagation policy.
func (gc *Collector) deleteObject(ctx context.Context, id objectID, policy metav1.DeletionPropagation) error {
	gvr, namespaced, err := gc.mapping(id.APIVersion, id.Kind)
	if err != nil {
		return err
	}
	ns := ""
	if namespaced {
		ns = id.Namespace
	}
	uid := id.UID
	err = gc.metadata.Resource(gvr).Namespace(ns).Delete(ctx, id.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by another object of that name
	}
	if err != nil {
		return fmt.Errorf("delete %s %s/%s: %w", id.Kind, id.Namespace, id.Name, err)
	}
	gc.log.Debug("deleted dependent", "kind", id.Kind, "namespace", id.Namespace, "name", id.Name, "propagation", policy)
	return nil
}
