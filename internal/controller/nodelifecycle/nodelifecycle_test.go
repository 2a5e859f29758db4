package nodelifecycle_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/controller/nodelifecycle"
)

var ctx = context.Background()

// gracePeriod is short so nodes go Unknown quickly; the heartbeats of the
// tests come far more often.
const gracePeriod = 4 * time.Second

func start(t *testing.T) *controllertest.Env {
	return controllertest.Start(t, manager.Options{
		Controllers: []string{"nodelifecycle"}, NodeMonitorGracePeriod: gracePeriod,
	})
}

// conditions are a node agent's report: Ready as given, pressures as given.
func conditions(ready corev1.ConditionStatus, memoryPressure corev1.ConditionStatus) []corev1.NodeCondition {
	now := metav1.Now()
	var out []corev1.NodeCondition
	for _, c := range []struct {
		t corev1.NodeConditionType
		s corev1.ConditionStatus
	}{
		{corev1.NodeReady, ready}, {corev1.NodeMemoryPressure, memoryPressure},
		{corev1.NodeDiskPressure, corev1.ConditionFalse}, {corev1.NodePIDPressure, corev1.ConditionFalse},
	} {
		out = append(out, corev1.NodeCondition{Type: c.t, Status: c.s, Reason: "Test", LastHeartbeatTime: now, LastTransitionTime: now})
	}
	return out
}

func createNode(t *testing.T, c kubernetes.Interface, name string, conds []corev1.NodeCondition) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: conds}}
	if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
}

// postStatus reports conditions for the node, as its agent would.
func postStatus(t *testing.T, c kubernetes.Interface, name string, conds []corev1.NodeCondition) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.Conditions = conds
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("post status of %s: %v", name, err)
	}
}

// renewLease creates the node's Lease and renews it every 100ms until the
// test ends or stop is called.
func renewLease(t *testing.T, c kubernetes.Interface, name string) (stop func()) {
	t.Helper()
	leases := c.CoordinationV1().Leases(nodelifecycle.LeaseNamespace)
	renew := func() error {
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			holder := name
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &now},
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		l.Spec.RenewTime = &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	}
	if err := renew(); err != nil {
		t.Fatalf("create lease %s: %v", name, err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := renew(); err != nil {
					t.Logf("renew lease %s: %v", name, err)
				}
			}
		}
	}()
	var once bool
	stop = func() {
		if !once {
			once = true
			close(done)
			<-stopped
		}
	}
	t.Cleanup(stop)
	return stop
}

// createReadyPod creates a running, ready pod bound to node.
func createReadyPod(t *testing.T, c kubernetes.Interface, ns, name, node string) {
	t.Helper()
	p, err := c.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, name, "web", node), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitPodNotReady(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	controllertest.Eventually(t, "pod "+name+" not ready", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := controller.PodReadyCondition(p)
		return cond != nil && cond.Status == corev1.ConditionFalse, fmt.Errorf("conditions %+v", p.Status.Conditions)
	})
}

// taintSet renders taints as sorted "key:effect" strings.
func taintSet(n *corev1.Node) []string {
	var out []string
	for _, t := range n.Spec.Taints {
		out = append(out, t.Key+":"+string(t.Effect))
	}
	slices.Sort(out)
	return out
}

// waitNode polls the node until ok accepts it, and returns it.
func waitNode(t *testing.T, c kubernetes.Interface, name, what string, ok func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	controllertest.Eventually(t, what, func() (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = n
		return ok(n), fmt.Errorf("taints %v conditions %+v", taintSet(n), n.Status.Conditions)
	})
	return node
}

func hasTaints(want ...string) func(*corev1.Node) bool {
	slices.Sort(want)
	return func(n *corev1.Node) bool { return slices.Equal(taintSet(n), want) }
}

// TestUnknownAfterGracePeriod: a node that renews nothing goes Unknown with
// upstream's conditions and unreachable taints, and its pods not ready; a
// node renewing only its lease stays Ready; the silent node recovers when
// its agent is back.
func TestUnknownAfterGracePeriod(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("lifecycle")
	createNode(t, c, "alive", conditions(corev1.ConditionTrue, corev1.ConditionFalse))
	createNode(t, c, "dead", conditions(corev1.ConditionTrue, corev1.ConditionFalse))
	renewLease(t, c, "alive")
	stopDead := renewLease(t, c, "dead")
	stopDead()
	createReadyPod(t, c, ns, "web", "dead")

	dead := waitNode(t, c, "dead", "dead node Unknown and unreachable", func(n *corev1.Node) bool {
		for _, cond := range n.Status.Conditions {
			if cond.Status != corev1.ConditionUnknown {
				return false
			}
		}
		return len(n.Status.Conditions) == 4 && hasTaints("node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule")(n)
	})
	for _, cond := range dead.Status.Conditions {
		if cond.Reason != nodelifecycle.ReasonNodeStatusUnknown || cond.Message != "Kubelet stopped posting node status." {
			t.Errorf("condition %s: reason %q message %q, want NodeStatusUnknown / Kubelet stopped posting node status.", cond.Type, cond.Reason, cond.Message)
		}
	}
	for _, taint := range dead.Spec.Taints {
		if taint.Effect == corev1.TaintEffectNoExecute && taint.TimeAdded == nil {
			t.Errorf("taint %s has no timeAdded", taint.ToString())
		}
	}
	waitPodNotReady(t, c, ns, "web")

	// The lease alone kept the other node healthy for just as long.
	alive, err := c.CoreV1().Nodes().Get(ctx, "alive", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ready := alive.Status.Conditions[0]; ready.Status != corev1.ConditionTrue || len(alive.Spec.Taints) != 0 {
		t.Errorf("node renewing its lease: Ready %s taints %v, want True and none", ready.Status, taintSet(alive))
	}

	// The agent comes back: lease renewed, status posted.
	renewLease(t, c, "dead")
	postStatus(t, c, "dead", conditions(corev1.ConditionTrue, corev1.ConditionFalse))
	waitNode(t, c, "dead", "recovered node without taints", hasTaints())
}

// TestTaintsFromConditions: a new node is not-ready:NoSchedule until it is
// Ready; Ready=False brings not-ready NoExecute too and marks its pods not
// ready; pressure conditions and spec.unschedulable bring their NoSchedule
// taints; taints of others are left alone.
func TestTaintsFromConditions(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("lifecycle")
	createNode(t, c, "fresh", nil)
	renewLease(t, c, "fresh")
	waitNode(t, c, "fresh", "new node not-ready:NoSchedule", hasTaints("node.kubernetes.io/not-ready:NoSchedule"))

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "fresh", metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Unschedulable = true
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "example.com/mine", Effect: corev1.TaintEffectNoSchedule})
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	createReadyPod(t, c, ns, "web", "fresh")
	postStatus(t, c, "fresh", conditions(corev1.ConditionFalse, corev1.ConditionTrue))
	waitNode(t, c, "fresh", "not-ready, pressure and unschedulable taints", hasTaints(
		"example.com/mine:NoSchedule", "node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute",
		"node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"))
	waitPodNotReady(t, c, ns, "web")

	postStatus(t, c, "fresh", conditions(corev1.ConditionTrue, corev1.ConditionFalse))
	waitNode(t, c, "fresh", "only the unschedulable and foreign taints left", hasTaints(
		"example.com/mine:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"))
}

// TestUnreachableNodeEvictsPods runs node lifecycle with taint eviction and
// the API's default tolerations: pods on a node that stopped reporting are
// evicted once their unreachable toleration runs out; pods with the
// default five minutes are still there then.
func TestUnreachableNodeEvictsPods(t *testing.T) {
	env := controllertest.Start(t, manager.Options{
		Controllers: []string{"nodelifecycle", "taint-eviction-controller"}, NodeMonitorGracePeriod: gracePeriod,
	})
	c := env.Client
	ns := env.Namespace("lifecycle")
	createNode(t, c, "gone", conditions(corev1.ConditionTrue, corev1.ConditionFalse))
	short := controllertest.Pod(ns, "short", "web", "gone")
	one := int64(1)
	short.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &one}}
	for _, p := range []*corev1.Pod{short, controllertest.Pod(ns, "default", "web", "gone")} {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	terminating := func(name string) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return p.DeletionTimestamp != nil, fmt.Errorf("pod %s not deleted; node taints %v", name, nodeTaints(t, c, "gone"))
	}
	controllertest.Eventually(t, "eviction of the pod tolerating unreachable for 1s", func() (bool, error) { return terminating("short") })
	if gone, _ := terminating("default"); gone {
		t.Errorf("pod with the default 300s tolerations evicted already")
	}
}

func nodeTaints(t *testing.T, c kubernetes.Interface, name string) []string {
	n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	return taintSet(n)
}
