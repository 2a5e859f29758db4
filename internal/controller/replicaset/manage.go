package replicaset

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	// Expect all n before the first create: an informer event may arrive
	// before Create returns.
	c.expectations.ExpectCreations(key, n)
	called, err := controller.SlowStart(n, func() error {
		pod := controller.PodFromTemplate(&rs.Spec.Template, rs, kind, rs.Name+"-")
		created, err := c.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			// This create will never be observed.
			c.expectations.CreationObserved(key)
			if controller.NamespaceGoing(err) || ctx.Err() != nil {
				return nil // the namespace is going, or we are stopping
			}
			c.recorder.Eventf(rs, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
			return err
		}
		c.recorder.Eventf(rs, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", created.Name)
		return nil
	})
	// Creates never attempted will not be observed either.
	for range n - called {
		c.expectations.CreationObserved(key)
	}
	if err != nil {
		return fmt.Errorf("create pods for %s: %w", key, err)
	}
	return nil
}

// deletePods deletes the n pods of rs that are cheapest to lose.
func (c *Controller) deletePods(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod, n int) error {
	victims := pickVictims(pods, c.relatedPods(rs), n, c.now())
	uids := make([]string, len(victims))
	for i, p := range victims {
		uids[i] = string(p.UID)
	}
	c.expectations.ExpectDeletions(key, uids)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error // guarded by mu
	)
	for _, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := p.UID
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &uid},
			})
			switch {
			case err == nil:
				c.recorder.Eventf(rs, corev1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
			case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
				// Already gone (or replaced): its delete event may never come.
				c.expectations.DeletionObserved(key, string(uid))
			default:
				c.expectations.DeletionObserved(key, string(uid))
				c.recorder.Eventf(rs, corev1.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("delete pods of %s: %w", key, firstErr)
	}
	return nil
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
