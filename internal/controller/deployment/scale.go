package deployment

import (
	"context"
	"fmt"
	"math"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sync handles a paused Deployment or a change of spec.replicas: scale the
// RSs proportionally, clean up history when paused, report status. It never
// creates a new RS.
func (c *Controller) sync(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(ctx, d, newRS, old); err != nil {
		return err
	}
	if d.Spec.Paused {
		if err := c.cleanupHistory(ctx, d, old); err != nil {
			return err
		}
	}
	return c.syncDeploymentStatus(ctx, d, append(slices.Clone(old), newRS), newRS)
}

// isScalingEvent reports whether spec.replicas differs from what an active
// RS was last sized for.
func (c *Controller) isScalingEvent(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, old, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range active(append(slices.Clone(old), newRS)) {
		if desired, ok := desiredReplicasOf(rs); ok && desired != replicasOf(d) {
			return true, nil
		}
	}
	return false, nil
}

// scale brings the total of the RSs to spec.replicas (+maxSurge while
// rolling), spreading the difference over the active RSs in proportion to
// their size, so a rollout in flight keeps its shape.
func (c *Controller) scale(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	if rs := activeOrLatest(newRS, old); rs != nil {
		if rsReplicas(rs) == replicasOf(d) {
			return nil
		}
		_, _, err := c.scaleReplicaSet(ctx, d, rs, replicasOf(d))
		return err
	}
	if saturated(d, newRS) {
		for _, rs := range active(old) {
			if _, _, err := c.scaleReplicaSet(ctx, d, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRolling(d) {
		return nil
	}
	sets := active(append(slices.Clone(old), newRS))
	allowed := int32(0)
	if replicasOf(d) > 0 {
		allowed = replicasOf(d) + maxSurge(d)
	}
	toAdd := allowed - sumReplicas(sets)
	switch {
	case toAdd > 0:
		// Largest first; among equals, the newer grows first.
		slices.SortFunc(sets, func(a, b *appsv1.ReplicaSet) int {
			if rsReplicas(a) != rsReplicas(b) {
				return int(rsReplicas(b) - rsReplicas(a))
			}
			return -byCreation(a, b)
		})
	case toAdd < 0:
		// Largest first; among equals, the older shrinks first.
		slices.SortFunc(sets, func(a, b *appsv1.ReplicaSet) int {
			if rsReplicas(a) != rsReplicas(b) {
				return int(rsReplicas(b) - rsReplicas(a))
			}
			return byCreation(a, b)
		})
	}
	sizes := make([]int32, len(sets))
	added := int32(0)
	for i, rs := range sets {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(d, rs, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if len(sets) > 0 && toAdd != 0 {
		// The rounding leftover goes to the largest.
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	for i, rs := range sets {
		if _, _, err := c.scaleReplicaSet(ctx, d, rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// activeOrLatest returns the only active RS, or the newest RS when none is
// active, or nil when several are active.
func activeOrLatest(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(old) == 0 {
		return nil
	}
	sorted := slices.Clone(old)
	slices.SortFunc(sorted, func(a, b *appsv1.ReplicaSet) int { return -byCreation(a, b) })
	act := active(append(sorted, newRS))
	switch len(act) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return act[0]
	}
	return nil
}

// saturated reports whether the new RS runs spec.replicas available pods.
func saturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := desiredReplicasOf(rs)
	return ok && desired == replicasOf(d) && rsReplicas(rs) == replicasOf(d) && rs.Status.AvailableReplicas == replicasOf(d)
}

// proportion is rs's share of toAdd: its size scaled by the ratio of the
// new total to the total it was sized for (max-replicas annotation),
// bounded by what is left to hand out.
func proportion(d *appsv1.Deployment, rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := fractionOf(d, rs)
	left := toAdd - added
	if toAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

func fractionOf(d *appsv1.Deployment, rs *appsv1.ReplicaSet) int32 {
	if replicasOf(d) == 0 {
		return -rsReplicas(rs)
	}
	total := replicasOf(d) + maxSurge(d)
	sizedFor, ok := maxReplicasOf(rs)
	if !ok || sizedFor == 0 {
		sizedFor = d.Status.Replicas
	}
	if sizedFor == 0 {
		return 0
	}
	size := float64(rsReplicas(rs)) * float64(total) / float64(sizedFor)
	return int32(math.Round(size)) - rsReplicas(rs)
}

// scaleReplicaSet sets rs's size and replica annotations, recording a
// ScalingReplicaSet event when the size changes. It reports whether the
// size changed and returns the updated RS.
func (c *Controller) scaleReplicaSet(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, size int32) (bool, *appsv1.ReplicaSet, error) {
	if rs == nil {
		return false, nil, nil
	}
	from := rsReplicas(rs)
	upd := rs.DeepCopy()
	annotationsChanged := setReplicasAnnotations(upd, replicasOf(d), replicasOf(d)+maxSurge(d))
	if from == size && !annotationsChanged {
		return false, rs, nil
	}
	upd.Spec.Replicas = &size
	out, err := c.client.AppsV1().ReplicaSets(upd.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return false, rs, fmt.Errorf("scale replica set %s/%s to %d: %w", rs.Namespace, rs.Name, size, err)
	}
	if from == size {
		return false, out, nil
	}
	op := "up"
	if size < from {
		op = "down"
	}
	c.recorder.Eventf(d, corev1.EventTypeNormal, ReasonScalingReplicaSet, "Scaled %s replica set %s from %d to %d", op, rs.Name, from, size)
	return true, out, nil
}

// cleanupHistory deletes the oldest old RSs beyond revisionHistoryLimit
// that are scaled to zero and settled.
func (c *Controller) cleanupHistory(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet) error {
	if !hasRevisionHistoryLimit(d) {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range old {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	excess := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(alive, byRevision)
	for _, rs := range alive[:excess] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		uid := rs.UID
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete old replica set %s/%s: %w", rs.Namespace, rs.Name, err)
		}
	}
	return nil
}
