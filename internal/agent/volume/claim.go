package volume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// resolveClaim finds the host path behind a persistentVolumeClaim volume:
// the claim must be bound to a PV with a hostPath or local source; a local
// PV must be for this node. The path is used in place (no bind mount), so
// tearing the pod down can never touch the volume's data.
func (m *Manager) resolveClaim(ctx context.Context, ns string, src *corev1.PersistentVolumeClaimVolumeSource) (claimedPath, error) {
	pvc, err := m.o.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, src.ClaimName, metav1.GetOptions{})
	if err != nil {
		return claimedPath{}, fmt.Errorf("error processing PVC %s/%s: %w", ns, src.ClaimName, err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return claimedPath{}, fmt.Errorf("persistentvolumeclaim %q is not bound", src.ClaimName)
	}
	pv, err := m.o.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return claimedPath{}, fmt.Errorf("error processing PVC %s/%s: %w", ns, src.ClaimName, err)
	}
	if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID != "" && pv.Spec.ClaimRef.UID != pvc.UID {
		return claimedPath{}, fmt.Errorf("persistentvolume %q is bound to another claim", pv.Name)
	}
	readOnly := src.ReadOnly
	switch {
	case pv.Spec.HostPath != nil:
		if err := checkHostPathType(pv.Spec.HostPath.Path, pv.Spec.HostPath.Type); err != nil {
			return claimedPath{}, err
		}
		return claimedPath{path: pv.Spec.HostPath.Path, readOnly: readOnly}, nil
	case pv.Spec.Local != nil:
		if err := m.checkNodeAffinity(ctx, pv); err != nil {
			return claimedPath{}, err
		}
		if err := checkHostPathType(pv.Spec.Local.Path, ptr(corev1.HostPathDirectory)); err != nil {
			return claimedPath{}, err
		}
		return claimedPath{path: pv.Spec.Local.Path, readOnly: readOnly}, nil
	}
	return claimedPath{}, fmt.Errorf("persistentvolume %q: only hostPath and local volumes are supported", pv.Name)
}

// checkNodeAffinity checks a PV's required node affinity against this node.
func (m *Manager) checkNodeAffinity(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	node, err := m.o.Client.CoreV1().Nodes().Get(ctx, m.o.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("check node affinity of persistentvolume %q: %w", pv.Name, err)
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		if termMatches(term, node) {
			return nil
		}
	}
	return fmt.Errorf("persistentvolume %q: node affinity does not match node %q: no matching NodeSelectorTerms", pv.Name, m.o.NodeName)
}

// termMatches reports whether every requirement of term holds for node (an
// empty term matches nothing, as upstream).
func termMatches(term corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		if !requirementHolds(r, labels.Set(node.Labels)) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" || !requirementHolds(r, labels.Set{"metadata.name": node.Name}) {
			return false
		}
	}
	return true
}

func requirementHolds(r corev1.NodeSelectorRequirement, set labels.Set) bool {
	v, has := set[r.Key]
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !has || !slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	}
	// Gt and Lt compare integers; not used by local PVs in practice.
	return false
}

func ptr[T any](v T) *T { return &v }
