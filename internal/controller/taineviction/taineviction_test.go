package taineviction_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/controller/taineviction"
)

var ctx = context.Background()

const taintKey = "example.com/broken"

func start(t *testing.T) *controllertest.Env {
	return controllertest.Start(t, manager.Options{Controllers: []string{taineviction.Name}})
}

// createNode creates a node with a NoExecute taint added now; it returns
// the stored timeAdded.
func createNode(t *testing.T, c kubernetes.Interface, name string) time.Time {
	t.Helper()
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: taintKey, Effect: corev1.TaintEffectNoExecute, TimeAdded: &now}}},
	}
	got, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	return got.Spec.Taints[0].TimeAdded.Time
}

// createPod creates a pod on node tolerating the taint for seconds
// (nil: for ever) or, with tolerate false, not at all.
func createPod(t *testing.T, c kubernetes.Interface, ns, name, node string, tolerate bool, seconds *int64) {
	t.Helper()
	p := controllertest.Pod(ns, name, name, node)
	if tolerate {
		p.Spec.Tolerations = []corev1.Toleration{{
			Key: taintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds,
		}}
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

// evicted reports whether the pod is gone or being deleted.
func evicted(c kubernetes.Interface, ns, name string) (bool, error) {
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return p.DeletionTimestamp != nil, fmt.Errorf("pod %s not deleted", name)
}

func waitEvicted(t *testing.T, c kubernetes.Interface, ns, name string) time.Time {
	t.Helper()
	controllertest.Eventually(t, "eviction of "+name, func() (bool, error) { return evicted(c, ns, name) })
	return time.Now()
}

func seconds(s int64) *int64 { return &s }

// TestEviction: a pod that does not tolerate the taint is deleted at once,
// with an event and a DisruptionTarget condition; one tolerating it for 3s
// is deleted no earlier than 3s after the taint was added; one tolerating
// it for ever stays.
func TestEviction(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("taints")
	added := createNode(t, c, "broken")
	createPod(t, c, ns, "plain", "broken", false, nil)
	createPod(t, c, ns, "delayed", "broken", true, seconds(3))
	createPod(t, c, ns, "forever", "broken", true, nil)

	waitEvicted(t, c, ns, "plain")
	controllertest.Eventually(t, "eviction event", func() (bool, error) {
		evs := controllertest.Events(t, c, ns, "plain")
		return controllertest.HasEvent(evs, taineviction.ReasonTaintManagerEviction, "Marking for deletion Pod "+ns+"/plain"), fmt.Errorf("events %v", evs)
	})
	if p, err := c.CoreV1().Pods(ns).Get(ctx, "plain", metav1.GetOptions{}); err == nil {
		if !hasDisruptionTarget(p) {
			t.Errorf("evicted pod has no DisruptionTarget condition: %+v", p.Status.Conditions)
		}
	}

	at := waitEvicted(t, c, ns, "delayed")
	if earliest := added.Add(3 * time.Second); at.Before(earliest) {
		t.Errorf("pod tolerating 3s evicted at %v, before %v", at, earliest)
	}
	if gone, _ := evicted(c, ns, "forever"); gone {
		t.Errorf("pod tolerating the taint for ever was evicted")
	}
}

// TestCancelledWhenTaintRemoved: a pod tolerating the taint for a while
// stays when the taint goes away before that; a twin on a node that keeps
// the taint shows the time has passed.
func TestCancelledWhenTaintRemoved(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("taints")
	createNode(t, c, "healed")
	createNode(t, c, "still-broken")
	createPod(t, c, ns, "stays", "healed", true, seconds(5))
	createPod(t, c, ns, "witness", "still-broken", true, seconds(5))
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "healed", metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = nil
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitEvicted(t, c, ns, "witness")
	if gone, _ := evicted(c, ns, "stays"); gone {
		t.Errorf("pod evicted although the taint was removed before its tolerationSeconds ran out")
	}
}

func hasDisruptionTarget(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == taineviction.ReasonDeletionByTaint {
			return true
		}
	}
	return false
}
