package replicaset_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

var ctx = context.Background()

// podsOf lists the active pods controlled by the ReplicaSet.
func podsOf(t *testing.T, c kubernetes.Interface, rs *appsv1.ReplicaSet) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(rs.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rs.UID && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitStatus waits until the ReplicaSet reports the wanted counts for its
// current generation.
func waitStatus(t *testing.T, c kubernetes.Interface, ns, name string, replicas, ready, available int32) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	controllertest.Eventually(t, fmt.Sprintf("replicaset %s status %d/%d/%d", name, replicas, ready, available), func() (bool, error) {
		var err error
		rs, err = c.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := rs.Status
		return s.ObservedGeneration == rs.Generation && s.Replicas == replicas && s.ReadyReplicas == ready &&
			s.AvailableReplicas == available && s.FullyLabeledReplicas == replicas, nil
	})
	return rs
}

func scale(t *testing.T, c kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := c.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestScaleUpAndDown(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Bind: true})
	ns := env.Namespace("rs")

	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, controllertest.ReplicaSet(ns, "web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, ns, "web", 3, 3, 3)
	if got := len(podsOf(t, c, rs)); got != 3 {
		t.Fatalf("pods = %d, want 3", got)
	}
	controllertest.Eventually(t, "SuccessfulCreate events", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "web"), "SuccessfulCreate", "Created pod: web-"), nil
	})

	scale(t, c, ns, "web", 7)
	waitStatus(t, c, ns, "web", 7, 7, 7)
	scale(t, c, ns, "web", 2)
	waitStatus(t, c, ns, "web", 2, 2, 2)
	controllertest.Eventually(t, "SuccessfulDelete events", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "web"), "SuccessfulDelete", "Deleted pod: web-"), nil
	})
	// The node simulator removes deleted pods: exactly two remain.
	controllertest.Eventually(t, "two pods left", func() (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 2, err
	})
}

func TestScaleDownPrefersUnscheduledAndNotReady(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	nodes := nodesim.Start(t, c, nodesim.Options{NotReady: func(p *corev1.Pod) bool { return p.Labels["ready"] == "no" }})
	ns := env.Namespace("rs-victims")
	node := nodes.Names()[0]

	// Two ready pods and one not-ready pod on the node, made by hand.
	for _, p := range []struct{ name, ready string }{{"ready-1", "yes"}, {"ready-2", "yes"}, {"unready", "no"}} {
		pod := controllertest.Pod(ns, p.name, "web", node)
		pod.Labels["ready"] = p.ready
		if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, "hand-made pods running", func() (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 3, nil
	})
	// The ReplicaSet adopts them and adds two unscheduled pods (nothing
	// binds them).
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, controllertest.ReplicaSet(ns, "web", 5), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, ns, "web", 5, 2, 2)
	for _, p := range podsOf(t, c, rs) {
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.Name != "web" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Fatalf("pod %s: controllerRef %+v, want web with blockOwnerDeletion", p.Name, ref)
		}
	}

	// Down to 3: the two unscheduled pods go first.
	scale(t, c, ns, "web", 3)
	waitStatus(t, c, ns, "web", 3, 2, 2)
	names := map[string]bool{}
	for _, p := range podsOf(t, c, rs) {
		names[p.Name] = true
	}
	if !names["ready-1"] || !names["ready-2"] || !names["unready"] {
		t.Fatalf("after scaling to 3 kept %v, want the three scheduled pods", names)
	}
	// Down to 2: then the not-ready one.
	scale(t, c, ns, "web", 2)
	waitStatus(t, c, ns, "web", 2, 2, 2)
	for _, p := range podsOf(t, c, rs) {
		if p.Name == "unready" {
			t.Fatalf("the not-ready pod survived the scale-down")
		}
	}
}

func TestAdoptAndRelease(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	nodes := nodesim.Start(t, c, nodesim.Options{Bind: true})
	ns := env.Namespace("rs-adopt")

	orphan, err := c.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, "orphan", "web", nodes.Names()[0]), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, controllertest.ReplicaSet(ns, "web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "orphan adopted", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == rs.UID, nil
	})
	waitStatus(t, c, ns, "web", 1, 1, 1)
	if got := podsOf(t, c, rs); len(got) != 1 {
		t.Fatalf("pods after adoption = %d, want 1", len(got))
	}

	// Relabelled out of the selector: released, and replaced.
	patch := `{"metadata":{"labels":{"app":"elsewhere"}}}`
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, "orphan", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "pod released", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		return err == nil && len(p.OwnerReferences) == 0, err
	})
	controllertest.Eventually(t, "a new pod replaces the released one", func() (bool, error) {
		got := podsOf(t, c, rs)
		return len(got) == 1 && got[0].UID != orphan.UID && got[0].Status.Phase == corev1.PodRunning, nil
	})
	waitStatus(t, c, ns, "web", 1, 1, 1)
}

func TestMinReadySeconds(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Bind: true})
	ns := env.Namespace("rs-minready")

	rs := controllertest.ReplicaSet(ns, "web", 2)
	rs.Spec.MinReadySeconds = 2
	if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Ready first, available only once ready for 2s; nothing but the
	// controller's own requeue changes the pods after that.
	waitStatus(t, c, ns, "web", 2, 2, 0)
	waitStatus(t, c, ns, "web", 2, 2, 2)
}

func TestFailedCreateCondition(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	ns := env.Namespace("rs-fail")

	// Valid as a template, refused as a pod: a node name with scheduling
	// gates.
	rs := controllertest.ReplicaSet(ns, "web", 3)
	rs.Spec.Template.Spec.NodeName = "somewhere"
	rs.Spec.Template.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
	if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "ReplicaFailure condition", func() (bool, error) {
		rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range rs.Status.Conditions {
			if cond.Type == appsv1.ReplicaSetReplicaFailure && cond.Status == corev1.ConditionTrue && cond.Reason == "FailedCreate" {
				return true, nil
			}
		}
		return false, nil
	})
	controllertest.Eventually(t, "FailedCreate event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "web"), "FailedCreate", "Error creating: "), nil
	})

	// Fixed template: pods get created and the condition goes away.
	patch := `{"spec":{"template":{"spec":{"schedulingGates":null,"nodeName":null}}}}`
	if _, err := c.AppsV1().ReplicaSets(ns).Patch(ctx, "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "pods created and condition cleared", func() (bool, error) {
		rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return rs.Status.Replicas == 3 && len(rs.Status.Conditions) == 0 && rs.Status.ObservedGeneration == rs.Generation, nil
	})
}

func TestManagerRestartLosesNothing(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"replicaset"}})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 3, Bind: true})
	ns := env.Namespace("rs-restart")

	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, controllertest.ReplicaSet(ns, "web", 20), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Stop mid-way through the creates.
	controllertest.Eventually(t, "some pods created", func() (bool, error) {
		return len(podsOf(t, c, rs)) > 0, nil
	})
	env.StopManager()
	scale(t, c, ns, "web", 12)
	env.StartManager()
	waitStatus(t, c, ns, "web", 12, 12, 12)
	if got := len(podsOf(t, c, rs)); got != 12 {
		t.Fatalf("pods after restart = %d, want 12", got)
	}

	// A pod deleted while the manager is down is replaced after it starts.
	env.StopManager()
	victim := podsOf(t, c, rs)[0]
	zero := int64(0)
	if err := c.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	env.StartManager()
	controllertest.Eventually(t, "replacement pod", func() (bool, error) {
		pods := podsOf(t, c, rs)
		for _, p := range pods {
			if p.UID == victim.UID {
				return false, nil
			}
		}
		return len(pods) == 12, nil
	})
	waitStatus(t, c, ns, "web", 12, 12, 12)
}
