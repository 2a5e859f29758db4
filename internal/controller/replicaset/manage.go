package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/controller"
)

// manageReplicas creates or deletes pods so that rs has spec.replicas
// active pods, at most BurstReplicas per call.
func (c *Controller) manageReplicas(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	want := int(ptrOr(rs.Spec.Replicas, 1))
	diff := len(pods) - want
	switch {
	case diff < 0:
		return c.createPods(ctx, key, rs, min(-diff, BurstReplicas))
	case diff > 0:
		return c.deletePods(ctx, key, rs, pods, min(diff, BurstReplicas))
	}
	return nil
}

// createPods creates n pods of rs in slow-start batches.
func (c *Controller) createPods(ctx context.Context, key string, rs *appsv1.ReplicaSet, n int) error {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = controller.PodFromTemplate(&rs.Spec.Template, rs, kind, rs.Name+"-")
	}
	return c.podControl().Create(ctx, key, rs, pods)
}

// deletePods deletes the n pods of rs that are cheapest to lose.
func (c *Controller) deletePods(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod, n int) error {
	_, err := c.podControl().Delete(ctx, key, rs, pickVictims(pods, c.relatedPods(rs), n, c.now()))
	return err
}

// podControl creates and deletes pods with the controller's expectations
// and events.
func (c *Controller) podControl() controller.PodControl {
	return controller.PodControl{Client: c.client, Recorder: c.recorder, Expectations: c.expectations}
}

// relatedPods returns the active pods of every ReplicaSet that shares rs's
// controller (the other revisions of a Deployment), rs's own included; they
// rank victims by how crowded their node is.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	owner := metav1.GetControllerOf(rs)
	related := map[types.UID]bool{rs.UID: true}
	if owner != nil {
		sets, _ := c.sets.ReplicaSets(rs.Namespace).List(labels.Everything())
		for _, s := range sets {
			if ref := metav1.GetControllerOf(s); ref != nil && ref.UID == owner.UID {
				related[s.UID] = true
			}
		}
	}
	all, _ := c.pods.Pods(rs.Namespace).List(labels.Everything())
	var out []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && related[ref.UID] && controller.PodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
