package statefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/controller"
)

// plan is one reconcile's view of a StatefulSet: its pods by ordinal slot,
// the condemned ones, and the two revisions new pods are made from.
type plan struct {
	set *appsv1.StatefulSet
	// currentSet is set with the current revision's template.
	currentSet *appsv1.StatefulSet
	current    string // current revision name
	update     string // update revision name
	// replicas[i] is the pod with ordinal start+i, nil when missing.
	replicas []*corev1.Pod
	// condemned are pods with an ordinal out of range, ascending.
	condemned []*corev1.Pod
	monotonic bool
	now       time.Time
}

func newPlan(set, currentSet *appsv1.StatefulSet, current, update string, pods []*corev1.Pod, now time.Time) *plan {
	p := &plan{
		set: set, currentSet: currentSet, current: current, update: update,
		replicas:  make([]*corev1.Pod, replicasOf(set)),
		monotonic: set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement,
		now:       now,
	}
	start := startOrdinal(set)
	for _, pod := range pods {
		ord := ordinalOf(pod)
		if inRange(set, ord) {
			// Two pods of one ordinal cannot exist (one name); keep the first.
			if p.replicas[ord-start] == nil {
				p.replicas[ord-start] = pod
			}
			continue
		}
		p.condemned = append(p.condemned, pod)
	}
	slices.SortFunc(p.condemned, func(a, b *corev1.Pod) int { return ordinalOf(a) - ordinalOf(b) })
	return p
}

// healthy reports whether pod is Running, Ready and available for
// minReadySeconds.
func (p *plan) healthy(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && controller.PodAvailable(pod, p.set.Spec.MinReadySeconds, p.now)
}

// newVersionedPod builds the pod for ordinal at the current revision when
// a partitioned (or not yet rolled) RollingUpdate keeps that ordinal
// there, else at the update revision.
func (p *plan) newVersionedPod(ordinal int) *corev1.Pod {
	s := p.set.Spec.UpdateStrategy
	if s.Type == appsv1.RollingUpdateStatefulSetStrategyType {
		start := startOrdinal(p.set)
		keep := start + int(p.set.Status.CurrentReplicas)
		if s.RollingUpdate != nil && s.RollingUpdate.Partition != nil {
			keep = start + int(*s.RollingUpdate.Partition)
		}
		if ordinal < keep && p.current != p.update {
			return newPod(p.currentSet, ordinal, p.current)
		}
	}
	return newPod(p.set, ordinal, p.update)
}

func terminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

// sync takes the next steps towards the set's spec: in OrderedReady mode
// one step at a time, each waiting for the ones before to be healthy; in
// Parallel mode every step that does not need to wait.
func (c *Controller) sync(ctx context.Context, p *plan) error {
	for _, pod := range append(slices.Clone(p.replicas), p.condemned...) {
		if pod != nil && !terminating(pod) {
			if err := c.syncClaimOwners(ctx, p.set, pod); err != nil {
				return err
			}
		}
	}
	if stop, err := c.syncReplicas(ctx, p); stop || err != nil {
		return err
	}
	if stop, err := c.scaleDown(ctx, p); stop || err != nil {
		return err
	}
	return c.rollingUpdate(ctx, p)
}

// syncReplicas creates missing pods, replaces finished ones and fixes
// identities, in ordinal order; stop means later steps must wait.
func (c *Controller) syncReplicas(ctx context.Context, p *plan) (stop bool, err error) {
	start := startOrdinal(p.set)
	for i, pod := range p.replicas {
		ord := start + i
		switch {
		case pod == nil:
			if err := c.createPod(ctx, p, ord); err != nil {
				return true, err
			}
			if p.monotonic {
				return true, nil
			}
		case finished(pod) && !terminating(pod):
			// A failed (or exited) pod is deleted; the next pass makes a
			// new one with the same identity.
			if err := c.deletePod(ctx, p.set, pod); err != nil {
				return true, err
			}
			if p.monotonic {
				return true, nil
			}
		case terminating(pod):
			if p.monotonic {
				return true, nil
			}
		default:
			if err := c.fixIdentity(ctx, p.set, pod, ord); err != nil {
				return true, err
			}
			if p.monotonic && !p.healthy(pod) {
				return true, nil
			}
		}
	}
	return false, nil
}

// scaleDown deletes condemned pods, highest ordinal first; in OrderedReady
// mode one at a time, once every pod before it is healthy.
func (c *Controller) scaleDown(ctx context.Context, p *plan) (stop bool, err error) {
	var firstUnhealthy *corev1.Pod
	for _, pod := range append(slices.Clone(p.replicas), p.condemned...) {
		if pod != nil && !p.healthy(pod) {
			firstUnhealthy = pod
			break
		}
	}
	for i := len(p.condemned) - 1; i >= 0; i-- {
		pod := p.condemned[i]
		if terminating(pod) {
			if p.monotonic {
				return true, nil
			}
			continue
		}
		if p.monotonic && !p.healthy(pod) && pod != firstUnhealthy {
			return true, nil
		}
		if err := c.deletePod(ctx, p.set, pod); err != nil {
			return true, err
		}
		if p.monotonic {
			return true, nil
		}
	}
	return false, nil
}

// rollingUpdate deletes the highest-ordinal pod at or above the partition
// that is not at the update revision, one at a time, waiting for each
// replacement to be healthy; OnDelete leaves pods alone.
func (c *Controller) rollingUpdate(ctx context.Context, p *plan) error {
	s := p.set.Spec.UpdateStrategy
	if s.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return nil
	}
	partition := 0
	if s.RollingUpdate != nil && s.RollingUpdate.Partition != nil {
		partition = int(*s.RollingUpdate.Partition)
	}
	for i := len(p.replicas) - 1; i >= partition; i-- {
		pod := p.replicas[i]
		if pod == nil {
			return nil // being created this pass
		}
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] != p.update && !terminating(pod) {
			return c.deletePod(ctx, p.set, pod)
		}
		if !p.healthy(pod) {
			return nil
		}
	}
	return nil
}

// createPod creates the PVCs and then the pod of ordinal.
func (c *Controller) createPod(ctx context.Context, p *plan, ordinal int) error {
	pod := p.newVersionedPod(ordinal)
	if err := c.createClaims(ctx, p.set, pod, ordinal); err != nil {
		return err
	}
	_, err := c.client.CoreV1().Pods(p.set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil // the cache lags; its event brings us back
	case err != nil:
		if controller.NamespaceGoing(err) || ctx.Err() != nil {
			return nil
		}
		c.recorder.Eventf(p.set, corev1.EventTypeWarning, ReasonFailedCreate,
			"create Pod %s in StatefulSet %s failed error: %v", pod.Name, p.set.Name, err)
		return fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(p.set, corev1.EventTypeNormal, ReasonSuccessfulCreate,
		"create Pod %s in StatefulSet %s successful", pod.Name, p.set.Name)
	return nil
}

// deletePod deletes pod, guarded by its UID.
func (c *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	uid := pod.UID
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		return nil // gone already, or replaced
	case err != nil:
		c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedDelete,
			"delete Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, ReasonSuccessfulDelete,
		"delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// fixIdentity restores a pod's identity labels and creates PVCs it lacks.
func (c *Controller) fixIdentity(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, ordinal int) error {
	if err := c.createClaims(ctx, set, pod, ordinal); err != nil {
		return err
	}
	if identityMatches(pod, ordinal) {
		return nil
	}
	l := map[string]string{}
	setIdentityLabels(l, pod.Name, ordinal)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": l, "uid": pod.UID}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update identity of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
