package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/storage"
)

// Finalizers the garbage collector acts on.
const (
	FinalizerOrphan     = metav1.FinalizerOrphanDependents
	FinalizerForeground = metav1.FinalizerDeleteDependents
)

// Delete deletes an object, or only marks it (deletionTimestamp) when
// finalizers or a grace period hold it. It reports whether the object is gone.
func (s *Store) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dryRun bool) (runtime.Object, bool, error) {
	return s.DeleteAdmitted(ctx, ns, name, opts, dryRun, nil)
}

// DeleteAdmitted is Delete with an admission check on the stored object.
func (s *Store) DeleteAdmitted(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dryRun bool, admit func(ctx context.Context, old runtime.Object) error) (runtime.Object, bool, error) {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	key := s.Key(ns, name)
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		kv, err := s.storage.Get(ctx, key)
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		cur, err := s.decodeKV(kv.Value, kv.Revision)
		if err != nil {
			return nil, false, err
		}
		if err := s.checkPreconditions(opts.Preconditions, cur, name); err != nil {
			return nil, false, err
		}
		if admit != nil {
			if err := admit(ctx, cur); err != nil {
				return nil, false, err
			}
		}
		obj := cur.DeepCopyObject()
		if !s.markDeleted(obj, opts) {
			if dryRun {
				return cur, true, nil
			}
			if _, err := s.storage.Delete(ctx, key, kv.Revision); errors.Is(err, storage.ErrConflict) {
				continue
			} else if err != nil {
				return nil, false, s.storageError(err, name)
			}
			s.afterDelete(ctx, cur)
			return cur, true, nil
		}
		if objectsEqual(obj, cur) || dryRun {
			return obj, false, nil
		}
		data, err := s.encode(obj)
		if err != nil {
			return nil, false, err
		}
		rev, err := s.storage.Update(ctx, key, data, kv.Revision)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		setRV(obj, rev)
		return obj, false, nil
	}
	return nil, false, apierrors.NewConflict(s.Resource.GroupResource(), name,
		errors.New("too many concurrent writers; please try again"))
}

func (s *Store) checkPreconditions(p *metav1.Preconditions, cur runtime.Object, name string) error {
	if p == nil {
		return nil
	}
	m, _ := metaOf(cur)
	gr := s.Resource.GroupResource()
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// markDeleted updates obj for a delete request and reports whether it must
// stay stored (marked) rather than be removed now.
func (s *Store) markDeleted(obj runtime.Object, opts *metav1.DeleteOptions) bool {
	m, _ := metaOf(obj)
	applyPropagation(m, opts)
	graceful, grace := false, int64(0)
	if h := s.Resource.hooks.gracefulDelete; h != nil {
		graceful, grace = h(obj, opts)
	}
	if !graceful {
		grace = 0
	}
	holds := s.Resource.hooks.holdsDeletion != nil && s.Resource.hooks.holdsDeletion(obj)
	if len(m.GetFinalizers()) == 0 && grace == 0 && !holds {
		return false
	}
	now := s.Now()
	deadline := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
	if old := m.GetDeletionTimestamp(); old == nil || deadline.Before(old) {
		m.SetDeletionTimestamp(&deadline)
	}
	if old := m.GetDeletionGracePeriodSeconds(); old == nil || grace < *old {
		m.SetDeletionGracePeriodSeconds(&grace)
	}
	return true
}

// applyPropagation adds the garbage-collection finalizer a propagation
// policy asks for.
func applyPropagation(m metav1.Object, opts *metav1.DeleteOptions) {
	policy := opts.PropagationPolicy
	if policy == nil && opts.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	if policy == nil {
		return
	}
	var keep []string
	for _, f := range m.GetFinalizers() {
		if f != FinalizerOrphan && f != FinalizerForeground {
			keep = append(keep, f)
		}
	}
	switch *policy {
	case metav1.DeletePropagationOrphan:
		keep = append(keep, FinalizerOrphan)
	case metav1.DeletePropagationForeground:
		keep = append(keep, FinalizerForeground)
	}
	m.SetFinalizers(keep)
}

// DeleteCollection deletes every object in ns matching opts and returns the
// number deleted or marked.
func (s *Store) DeleteCollection(ctx context.Context, ns string, listOpts ListOptions, opts *metav1.DeleteOptions, dryRun bool) (int, error) {
	listOpts.Limit, listOpts.Continue = 0, ""
	items, _, err := s.listItems(ctx, ns, listOpts)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		m, _ := metaOf(it)
		if _, _, err := s.Delete(ctx, m.GetNamespace(), m.GetName(), opts, dryRun); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Store) afterDelete(ctx context.Context, obj runtime.Object) {
	if h := s.Resource.hooks.afterDelete; h != nil {
		h(ctx, obj)
	}
}
