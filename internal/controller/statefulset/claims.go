package statefulset

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// createClaims creates the PVCs of pod's ordinal that do not exist yet; a
// PVC still being deleted is an error (the pod must wait for a new one).
func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, ordinal int) error {
	for _, pvc := range newClaims(set, ordinal) {
		found, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(pvc.Name)
		switch {
		case err == nil && found.DeletionTimestamp != nil:
			return fmt.Errorf("pvc %s/%s is being deleted", set.Namespace, pvc.Name)
		case err == nil:
			continue
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("read pvc %s/%s: %w", set.Namespace, pvc.Name, err)
		}
		if deletesWith(set) {
			pvc.OwnerReferences = []metav1.OwnerReference{ownerRef(set, kind.GroupVersion().String(), kind.Kind)}
		}
		_, err = c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue // made by an earlier pass the cache has not shown
		}
		c.claimEvent(set, pod, pvc, err)
		if err != nil {
			return fmt.Errorf("create pvc %s/%s: %w", set.Namespace, pvc.Name, err)
		}
	}
	return nil
}

// claimEvent records the outcome of a PVC create with upstream's words.
func (c *Controller) claimEvent(set *appsv1.StatefulSet, pod *corev1.Pod, pvc *corev1.PersistentVolumeClaim, err error) {
	if err == nil {
		c.recorder.Eventf(set, corev1.EventTypeNormal, ReasonSuccessfulCreate,
			"create Claim %s Pod %s in StatefulSet %s success", pvc.Name, pod.Name, set.Name)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedCreate,
		"create Claim %s for Pod %s in StatefulSet %s failed error: %v", pvc.Name, pod.Name, set.Name, err)
}

// deletesWith reports whether set's PVCs go when the set is deleted.
func deletesWith(set *appsv1.StatefulSet) bool {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	return p != nil && p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
}

// deletesOnScaleDown reports whether set's PVCs go with a condemned pod.
func deletesOnScaleDown(set *appsv1.StatefulSet) bool {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	return p != nil && p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
}

// ownerRef is a plain (non-controller) owner reference; the garbage
// collector deletes a PVC once all such owners are gone.
func ownerRef(obj metav1.Object, apiVersion, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID()}
}

// wantClaimOwners returns which of set and pod should own pod's PVCs under
// the retention policy: the set when whenDeleted is Delete (unless the pod
// is condemned and whenScaled is Delete), the pod when it is condemned and
// whenScaled is Delete.
func wantClaimOwners(set *appsv1.StatefulSet, pod *corev1.Pod) (bySet, byPod bool) {
	condemned := !inRange(set, ordinalOf(pod))
	if deletesOnScaleDown(set) && condemned {
		return false, true
	}
	return deletesWith(set), false
}

// syncClaimOwners adds and removes the set's and pod's owner references on
// pod's PVCs to follow the retention policy.
func (c *Controller) syncClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	bySet, byPod := wantClaimOwners(set, pod)
	ordinal := ordinalOf(pod)
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := claimName(set, t.Name, ordinal)
		pvc, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read pvc %s/%s: %w", set.Namespace, name, err)
		}
		if pvc.DeletionTimestamp != nil {
			continue
		}
		refs, changed := withOwner(pvc.OwnerReferences, ownerRef(set, kind.GroupVersion().String(), kind.Kind), bySet)
		refs, changed2 := withOwner(refs, ownerRef(pod, "v1", "Pod"), byPod)
		if !changed && !changed2 {
			continue
		}
		if err := c.patchClaimOwners(ctx, pvc, refs); err != nil {
			return err
		}
	}
	return nil
}

// withOwner returns refs with ref present (want) or absent; a reference to
// an older object of the same name and kind is replaced.
func withOwner(refs []metav1.OwnerReference, ref metav1.OwnerReference, want bool) ([]metav1.OwnerReference, bool) {
	var out []metav1.OwnerReference
	found, changed := false, false
	for _, r := range refs {
		same := r.Kind == ref.Kind && r.Name == ref.Name
		switch {
		case same && r.UID == ref.UID && want:
			found = true
			out = append(out, r)
		case same:
			changed = true // stale (another UID) or unwanted
		default:
			out = append(out, r)
		}
	}
	if want && !found {
		out = append(out, ref)
		changed = true
	}
	return out, changed
}

// patchClaimOwners replaces pvc's owner references, guarded by its
// resourceVersion.
func (c *Controller) patchClaimOwners(ctx context.Context, pvc *corev1.PersistentVolumeClaim, refs []metav1.OwnerReference) error {
	if refs == nil {
		refs = []metav1.OwnerReference{}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": pvc.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("update owners of pvc %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	return nil
}
