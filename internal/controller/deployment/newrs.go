package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/controller"
)

// findNewReplicaSet returns the oldest RS whose template equals d's, or nil.
func findNewReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := slices.Clone(rsList)
	slices.SortFunc(sorted, byCreation)
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// splitReplicaSets returns the new RS (or nil) and every other RS.
func splitReplicaSets(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	newRS := findNewReplicaSet(d, rsList)
	var old []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.UID != newRS.UID {
			old = append(old, rs)
		}
	}
	return newRS, old
}

// allReplicaSets returns the new RS (created when create is set and it does
// not exist) and the old ones, bringing revision annotations on the new RS
// and the Deployment up to date.
func (c *Controller) allReplicaSets(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing, old := splitReplicaSets(d, rsList)
	newRS, err := c.newReplicaSet(ctx, d, existing, old, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, old, nil
}

// newReplicaSet updates the existing new RS, or creates it.
func (c *Controller) newReplicaSet(ctx context.Context, d *appsv1.Deployment, existing *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	newRevision := strconv.FormatInt(maxRevision(old)+1, 10)
	if existing != nil {
		return c.syncExistingNewRS(ctx, d, existing, newRevision)
	}
	if !create {
		return nil, nil
	}
	return c.createNewRS(ctx, d, old, newRevision)
}

// syncExistingNewRS updates the annotations and minReadySeconds of the new
// RS and the Deployment's revision and Progressing condition.
func (c *Controller) syncExistingNewRS(ctx context.Context, d *appsv1.Deployment, existing *appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	rs := existing.DeepCopy()
	annotationsChanged := setNewReplicaSetAnnotations(d, rs, newRevision, true)
	if annotationsChanged || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
		rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
		return c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
	}
	if err := c.setDeploymentRevision(ctx, d, rs.Annotations[AnnotationRevision]); err != nil {
		return nil, err
	}
	if hasProgressDeadline(d) && getCondition(&d.Status, appsv1.DeploymentProgressing) == nil {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
			fmt.Sprintf("Found new replica set %q", rs.Name), metav1.NewTime(c.now())))
		if err := c.writeStatus(ctx, d); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// createNewRS creates the RS of d's current template, named
// <deployment>-<hash>, sized for the first step of the rollout.
func (c *Controller) createNewRS(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	template := d.Spec.Template.DeepCopy()
	hash := templateHash(template, d.Status.CollisionCount)
	template.Labels = maps.Clone(template.Labels)
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, kind)},
			Labels:          template.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        new(int32),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
	replicas := newRSReplicas(d, append(slices.Clone(old), rs), rs)
	rs.Spec.Replicas = &replicas
	setNewReplicaSetAnnotations(d, rs, newRevision, false)

	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	alreadyExists := apierrors.IsAlreadyExists(err)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Ours from an earlier pass the cache has not shown yet, or a
		// hash collision with another template.
		found, gerr := c.sets.ReplicaSets(d.Namespace).Get(rs.Name)
		if gerr == nil && metav1.IsControlledBy(found, d) && equalIgnoreHash(&d.Spec.Template, &found.Spec.Template) {
			created, err = found, nil
			break
		}
		if gerr != nil && !apierrors.IsNotFound(gerr) {
			return nil, gerr
		}
		if apierrors.IsNotFound(gerr) {
			return nil, err // the cache lags; retry
		}
		return nil, c.bumpCollisionCount(ctx, d, rs.Name)
	case err != nil:
		if controller.NamespaceGoing(err) {
			return nil, err
		}
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonRSCreateError, msg, metav1.NewTime(c.now())))
			_ = c.writeStatus(ctx, d) // the create error is what counts
		}
		c.recorder.Eventf(d, corev1.EventTypeWarning, ReasonFailedCreate, msg)
		return nil, err
	default:
		if replicas > 0 {
			c.recorder.Eventf(d, corev1.EventTypeNormal, ReasonScalingReplicaSet, "Scaled up replica set %s from 0 to %d", created.Name, replicas)
		}
	}
	if err := c.setDeploymentRevision(ctx, d, newRevision); err != nil {
		return nil, err
	}
	// A new rollout starts its progress clock, whatever the last one did.
	if hasProgressDeadline(d) && !alreadyExists {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), metav1.NewTime(c.now())))
		if err := c.writeStatus(ctx, d); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// bumpCollisionCount records a hash collision so the next pass hashes the
// template differently.
func (c *Controller) bumpCollisionCount(ctx context.Context, d *appsv1.Deployment, name string) error {
	var n int32
	if d.Status.CollisionCount != nil {
		n = *d.Status.CollisionCount
	}
	n++
	d.Status.CollisionCount = &n
	c.log.Info("replica set name collision", "deployment", d.Namespace+"/"+d.Name, "replicaset", name, "collisionCount", n)
	if err := c.writeStatus(ctx, d); err != nil {
		return err
	}
	return fmt.Errorf("replica set %s/%s exists with another template; collision count now %d", d.Namespace, name, n)
}

// setDeploymentRevision records revision in d's annotation with a merge
// patch (the status endpoint does not take annotations).
func (c *Controller) setDeploymentRevision(ctx context.Context, d *appsv1.Deployment, revision string) error {
	if revision == "" || d.Annotations[AnnotationRevision] == revision {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{AnnotationRevision: revision},
		"uid":         d.UID,
	}})
	out, err := c.client.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("set revision of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[AnnotationRevision] = revision
	d.ResourceVersion = out.ResourceVersion
	return nil
}

// writeStatus writes d.Status and keeps d's resourceVersion current.
func (c *Controller) writeStatus(ctx context.Context, d *appsv1.Deployment) error {
	out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ResourceVersion = out.ResourceVersion
	return nil
}

// newRSReplicas is the size of the new RS for the next step of a rollout.
func newRSReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	if !isRolling(d) {
		return replicasOf(d)
	}
	maxTotal := replicasOf(d) + maxSurge(d)
	current := sumReplicas(all)
	if current >= maxTotal {
		return rsReplicas(newRS)
	}
	up := min(maxTotal-current, replicasOf(d)-rsReplicas(newRS))
	return rsReplicas(newRS) + up
}
