package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// Claimer decides which dependents a controller object owns: those whose
// controllerRef is ours and that still match our selector. It adopts
// matching orphans and releases owned dependents that stopped matching,
// both with strategic merge patches guarded by the dependent's UID.
type Claimer struct {
	Owner     metav1.Object
	OwnerKind schema.GroupVersionKind
	Selector  labels.Selector
	// Recheck re-reads the owner from the API server (not the cache) before
	// the first adoption and fails if it is being deleted or was replaced:
	// a controller must not adopt while it is going away.
	Recheck func(ctx context.Context) (metav1.Object, error)
	// Patch applies a strategic merge patch to the dependent.
	Patch func(ctx context.Context, namespace, name string, patch []byte) error

	once       sync.Once
	recheckErr error
}

// Claim returns the dependents of objs the owner controls after adopting and
// releasing; errors of individual patches are aggregated.
func Claim[T metav1.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		ok, err := c.claimOne(ctx, obj)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	return claimed, utilerrors.NewAggregate(errs)
}

func (c *Claimer) claimOne(ctx context.Context, obj metav1.Object) (bool, error) {
	matches := c.Selector.Matches(labels.Set(obj.GetLabels()))
	if ref := metav1.GetControllerOf(obj); ref != nil {
		if ref.UID != c.Owner.GetUID() {
			return false, nil // someone else's
		}
		if matches {
			return true, nil
		}
		// Ours but no longer selected: release, unless we are going away
		// (the garbage collector handles our dependents then).
		if c.Owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		err := c.release(ctx, obj)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
			err = nil // gone or replaced: nothing to release
		}
		return false, err
	}
	if !matches || c.Owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if err := c.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
			return false, nil // gone or replaced meanwhile
		}
		return false, err
	}
	return true, nil
}

func (c *Claimer) adopt(ctx context.Context, obj metav1.Object) error {
	c.once.Do(func() {
		fresh, err := c.Recheck(ctx)
		switch {
		case err != nil:
			c.recheckErr = fmt.Errorf("recheck %s %s/%s before adopting: %w", c.OwnerKind.Kind, c.Owner.GetNamespace(), c.Owner.GetName(), err)
		case fresh.GetUID() != c.Owner.GetUID():
			c.recheckErr = fmt.Errorf("%s %s/%s was replaced (uid %s, want %s)", c.OwnerKind.Kind, c.Owner.GetNamespace(), c.Owner.GetName(), fresh.GetUID(), c.Owner.GetUID())
		case fresh.GetDeletionTimestamp() != nil:
			c.recheckErr = fmt.Errorf("%s %s/%s is being deleted", c.OwnerKind.Kind, c.Owner.GetNamespace(), c.Owner.GetName())
		}
	})
	if c.recheckErr != nil {
		return c.recheckErr
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*metav1.NewControllerRef(c.Owner, c.OwnerKind)},
		"uid":             obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch)
}

func (c *Claimer) release(ctx context.Context, obj metav1.Object) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": c.Owner.GetUID()}},
		"uid":             obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch)
}

// PatchPods returns a Claimer.Patch that patches pods (strategic merge)
// through client.
func PatchPods(client kubernetes.Interface) func(ctx context.Context, ns, name string, patch []byte) error {
	return func(ctx context.Context, ns, name string, patch []byte) error {
		_, err := client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}
