package deployment

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// rolloutRolling takes one step of a rolling update: scale the new RS up
// within maxSurge, else scale old RSs down within maxUnavailable, else
// (when complete) clean up history; then report status.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (controller.Result, error) {
	newRS, old, err := c.allReplicaSets(ctx, d, rsList, true)
	if err != nil {
		return controller.Result{}, err
	}
	all := append(slices.Clone(old), newRS)

	scaledUp, err := c.reconcileNewReplicaSet(ctx, d, all, newRS)
	if err != nil {
		return controller.Result{}, err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, d, all, newRS)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, d, all, active(old), newRS)
	if err != nil {
		return controller.Result{}, err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, d, all, newRS)
	}
	if complete(d, &d.Status) {
		if err := c.cleanupHistory(ctx, d, old); err != nil {
			return controller.Result{}, err
		}
	}
	return c.syncRolloutStatus(ctx, d, all, newRS)
}

// reconcileNewReplicaSet scales the new RS towards spec.replicas as far as
// maxSurge allows.
func (c *Controller) reconcileNewReplicaSet(ctx context.Context, d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	want := replicasOf(d)
	switch cur := rsReplicas(newRS); {
	case cur == want:
		return false, nil
	case cur > want:
		scaled, _, err := c.scaleReplicaSet(ctx, d, newRS, want)
		return scaled, err
	}
	scaled, _, err := c.scaleReplicaSet(ctx, d, newRS, newRSReplicas(d, all, newRS))
	return scaled, err
}

// reconcileOldReplicaSets scales old RSs down, first their unhealthy pods,
// then as many as keep replicas-maxUnavailable pods available.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, d *appsv1.Deployment, all, old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	if sumReplicas(old) == 0 {
		return false, nil
	}
	minAvailable := replicasOf(d) - maxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - availableOf(newRS)
	maxScaledDown := sumReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	old, cleaned, err := c.cleanupUnhealthyReplicas(ctx, d, old, maxScaledDown)
	if err != nil {
		return false, err
	}
	all = append(slices.Clone(old), newRS)
	scaledDown, err := c.scaleDownOldForRollingUpdate(ctx, d, all, old)
	if err != nil {
		return false, err
	}
	return cleaned+scaledDown > 0, nil
}

// cleanupUnhealthyReplicas scales old RSs down by their unavailable pods,
// oldest RS first, at most maxCleanup in total. Losing pods that are not
// available costs no availability.
func (c *Controller) cleanupUnhealthyReplicas(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	old = slices.Clone(old)
	slices.SortFunc(old, byCreation)
	var total int32
	for i, rs := range old {
		if total >= maxCleanup {
			break
		}
		unhealthy := rsReplicas(rs) - availableOf(rs)
		if rsReplicas(rs) == 0 || unhealthy <= 0 {
			continue
		}
		down := min(maxCleanup-total, unhealthy)
		_, updated, err := c.scaleReplicaSet(ctx, d, rs, rsReplicas(rs)-down)
		if err != nil {
			return nil, 0, err
		}
		total += down
		old[i] = updated
	}
	return old, total, nil
}

// scaleDownOldForRollingUpdate scales old RSs down, oldest first, by as many
// pods as are available beyond replicas-maxUnavailable.
func (c *Controller) scaleDownOldForRollingUpdate(ctx context.Context, d *appsv1.Deployment, all, old []*appsv1.ReplicaSet) (int32, error) {
	minAvailable := replicasOf(d) - maxUnavailable(d)
	available := int32(0)
	for _, rs := range all {
		available += availableOf(rs)
	}
	if available <= minAvailable {
		return 0, nil
	}
	old = slices.Clone(old)
	slices.SortFunc(old, byCreation)
	budget := available - minAvailable
	var total int32
	for _, rs := range old {
		if total >= budget {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		down := min(rsReplicas(rs), budget-total)
		if _, _, err := c.scaleReplicaSet(ctx, d, rs, rsReplicas(rs)-down); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}

// availableOf is the RS's available pods as far as scaling down may count
// them: never more than spec.replicas, because pods above that are about to
// be deleted by the ReplicaSet controller even if its status has not
// caught up yet.
func availableOf(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, rsReplicas(rs))
}
