package deployment

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/controller"
)

// rolloutRecreate takes one step of a Recreate rollout: old RSs to zero,
// then wait until none of their pods is left running, then the new RS
// (created only now) to spec.replicas.
func (c *Controller) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, pods map[types.UID][]*corev1.Pod) (controller.Result, error) {
	newRS, old, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return controller.Result{}, err
	}
	all := append(slices.Clone(old), newRS)

	scaledDown := false
	for _, rs := range active(old) {
		scaled, _, err := c.scaleReplicaSet(ctx, d, rs, 0)
		if err != nil {
			return controller.Result{}, err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown || oldPodsRunning(newRS, old, pods) {
		return c.syncRolloutStatus(ctx, d, all, newRS)
	}
	if newRS == nil {
		if newRS, old, err = c.allReplicaSets(ctx, d, rsList, true); err != nil {
			return controller.Result{}, err
		}
		all = append(slices.Clone(old), newRS)
	}
	if _, _, err := c.scaleReplicaSet(ctx, d, newRS, replicasOf(d)); err != nil {
		return controller.Result{}, err
	}
	if complete(d, &d.Status) {
		if err := c.cleanupHistory(ctx, d, old); err != nil {
			return controller.Result{}, err
		}
	}
	return c.syncRolloutStatus(ctx, d, all, newRS)
}

// oldPodsRunning reports whether any pod of an old RS may still run: the
// old RSs report pods, or a pod of theirs (terminating ones included) has
// not finished.
func oldPodsRunning(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, pods map[types.UID][]*corev1.Pod) bool {
	if sumStatus(old, statusReplicas) > 0 {
		return true
	}
	for uid, list := range pods {
		if newRS != nil && uid == newRS.UID {
			continue
		}
		for _, p := range list {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return true
			}
		}
	}
	return false
}
