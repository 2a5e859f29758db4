package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller"
)

// MessageNodeNotReady is the event on a pod marked not ready.
const MessageNodeNotReady = "Node is not ready"

// markPodsNotReady sets Ready=False on the ready pods bound to node, whose
// agent can no longer vouch for them, so Services stop sending them
// traffic.
func (c *Controller) markPodsNotReady(ctx context.Context, node *corev1.Node) error {
	pods, err := controller.PodsOnNode(c.pods, node.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pods {
		if !controller.PodReady(p) || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out := p.DeepCopy()
		cond := controller.PodReadyCondition(out)
		cond.Status = corev1.ConditionFalse
		cond.LastTransitionTime = metav1.NewTime(c.now())
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
			}
			continue
		}
		c.recorder.Event(p, corev1.EventTypeWarning, ReasonNodeNotReady, MessageNodeNotReady)
	}
	return errors.Join(errs...)
}

// readyPodHandler enqueues the node of every ready bound pod, so a pod
// reported ready on a node that is not is marked again.
func readyPodHandler(q controller.Enqueuer) cache.ResourceEventHandler {
	add := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if ok && p.Spec.NodeName != "" && controller.PodReady(p) {
			q.Enqueue(p.Spec.NodeName)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
	}
}
