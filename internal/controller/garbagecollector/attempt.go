package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/controller"
)

// attemptToDelete looks at one node of the graph: a virtual owner to
// verify, an owner in foreground deletion, or a dependent whose owners may
// be gone.
func (gc *Collector) attemptToDelete(ctx context.Context, key string) (controller.Result, error) {
	n, ok := gc.graph.view(uidOf(key))
	if !ok {
		return controller.Result{}, nil
	}
	if !n.observed {
		return controller.Result{}, gc.verifyVirtual(ctx, n)
	}
	if n.deleting && !n.deletingDependents {
		return controller.Result{}, nil // already going; nothing to decide
	}
	latest, err := gc.getObject(ctx, n.id)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil // its informer will report the delete
	}
	if err != nil {
		return controller.Result{}, err
	}
	if latest.UID != n.id.UID {
		return controller.Result{}, nil
	}
	if latest.DeletionTimestamp != nil && slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents) {
		return controller.Result{}, gc.deleteDependentsFirst(ctx, n)
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return controller.Result{}, nil
	}
	var solid, dangling, waiting []types.UID
	for _, ref := range refs {
		gone, owner, err := gc.lookupOwner(ctx, n.id, ref)
		if errors.Is(err, errInvalidOwner) {
			// Never resolvable; upstream keeps such objects too.
			gc.log.Warn("invalid ownerReference", "kind", n.id.Kind, "name", n.id.Name, "owner", ref.Kind+"/"+ref.Name, "err", err)
			solid = append(solid, ref.UID)
			continue
		}
		if err != nil {
			return controller.Result{}, err
		}
		switch {
		case gone:
			dangling = append(dangling, ref.UID)
		case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref.UID)
		default:
			solid = append(solid, ref.UID)
		}
	}
	switch {
	case len(solid) > 0:
		// Still owned: only drop references that hold nothing or would make
		// an owner's foreground deletion wait for us.
		if len(dangling)+len(waiting) == 0 {
			return controller.Result{}, nil
		}
		return controller.Result{}, gc.removeOwnerRefs(ctx, n.id, append(dangling, waiting...))
	case len(waiting) > 0 && len(n.dependents) > 0:
		// An owner waits for us and we have dependents: delete in the
		// foreground too, so the wait covers the whole chain. A dependent
		// already doing the same would deadlock with us: unblock first.
		for _, dep := range n.dependents {
			if dep.deletingDependents {
				if err := gc.unblockOwnerRefs(ctx, n.id); err != nil {
					return controller.Result{}, err
				}
				break
			}
		}
		return controller.Result{}, gc.deleteObject(ctx, n.id, metav1.DeletePropagationForeground)
	default:
		// No owner left: collect it, passing on the policy its own
		// finalizers ask for.
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return controller.Result{}, gc.deleteObject(ctx, n.id, policy)
	}
}

// verifyVirtual checks whether an owner known only from ownerReferences
// exists; if not, it leaves the graph and its dependents are looked at.
func (gc *Collector) verifyVirtual(ctx context.Context, n nodeView) error {
	latest, err := gc.getObject(ctx, n.id)
	switch {
	case apierrors.IsNotFound(err), err == nil && latest.UID != n.id.UID:
		gc.schedule(gc.graph.forgetVirtual(n.id.UID))
		return nil
	case err != nil:
		return err
	}
	// It exists; its monitor has not shown it yet.
	return fmt.Errorf("%s %s/%s not observed yet: %w", n.id.Kind, n.id.Namespace, n.id.Name, controller.ErrRetry)
}

// deleteDependentsFirst carries out a foreground deletion: once no
// dependent blocks the owner, drop its foregroundDeletion finalizer;
// meanwhile make sure each blocking dependent is being deleted.
func (gc *Collector) deleteDependentsFirst(ctx context.Context, n nodeView) error {
	var blocking []dependentView
	for _, dep := range n.dependents {
		if dep.blocking {
			blocking = append(blocking, dep)
		}
	}
	if len(blocking) == 0 {
		return gc.removeFinalizer(ctx, n.id, metav1.FinalizerDeleteDependents)
	}
	for _, dep := range blocking {
		if !dep.deletingDependents {
			gc.deleter.Enqueue(string(dep.id.UID))
		}
	}
	return nil
}

// attemptToOrphan carries out an orphan deletion: remove the owner's
// ownerReference from every dependent, then its orphan finalizer.
func (gc *Collector) attemptToOrphan(ctx context.Context, key string) (controller.Result, error) {
	n, ok := gc.graph.view(uidOf(key))
	if !ok || !n.observed {
		return controller.Result{}, nil
	}
	latest, err := gc.getObject(ctx, n.id)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if latest.UID != n.id.UID || latest.DeletionTimestamp == nil || !slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents) {
		return controller.Result{}, nil
	}
	var errs []error
	for _, dep := range n.dependents {
		if err := gc.removeOwnerRefs(ctx, dep.id, []types.UID{n.id.UID}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return controller.Result{}, fmt.Errorf("orphan dependents of %s %s/%s: %w", n.id.Kind, n.id.Namespace, n.id.Name, err)
	}
	return controller.Result{}, gc.removeFinalizer(ctx, n.id, metav1.FinalizerOrphanDependents)
}
