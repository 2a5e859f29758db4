package scheduler_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// quick makes a pod's deletion immediate (no node agent runs in these
// tests to finish a graceful one).
func quick(p *corev1.Pod) *corev1.Pod {
	zero := int64(0)
	p.Spec.TerminationGracePeriodSeconds = &zero
	return p
}

func (c *cluster) gone(name string) bool {
	_, err := c.client.CoreV1().Pods("default").Get(c.ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func TestPreemption(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(quick(mkPod().Name("low").PriorityClass(c.class(1)).Req("cpu", "1").Obj()))
	c.createPod(quick(mkPod().Name("low2").PriorityClass(c.class(2)).Req("cpu", "1").Obj()))
	c.waitBound("low")
	c.waitBound("low2")
	high := c.createPod(mkPod().Name("high").PriorityClass(c.class(100)).Req("cpu", "1").Obj())
	if got := c.waitBound("high"); got != "n1" {
		t.Fatalf("high bound to %s", got)
	}
	if !c.gone("low") || c.gone("low2") {
		t.Fatalf("victims: low gone %v, low2 gone %v; want only the lowest priority evicted", c.gone("low"), c.gone("low2"))
	}
	c.waitEvent("low", "Normal Preempted Preempted by pod "+string(high.UID)+" on node n1")
}

// TestPreemptionWaitsForGracefulVictims: the preemptor is nominated to the
// node and waits while the victim terminates.
func TestPreemptionWaitsForGracefulVictims(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(mkPod().Name("low").PriorityClass(c.class(1)).Req("cpu", "2").Obj())
	c.waitBound("low")
	c.createPod(mkPod().Name("high").PriorityClass(c.class(100)).Req("cpu", "2").Obj())
	c.eventually("nomination", func() (bool, string) {
		p := c.pod("high")
		return p.Status.NominatedNodeName == "n1", "nominated " + p.Status.NominatedNodeName
	})
	low := c.pod("low")
	if low.DeletionTimestamp == nil {
		t.Fatal("victim not being deleted")
	}
	var marked bool
	for _, cond := range low.Status.Conditions {
		marked = marked || (cond.Type == corev1.DisruptionTarget && cond.Reason == corev1.PodReasonPreemptionByScheduler)
	}
	if !marked {
		t.Errorf("victim conditions = %+v, want DisruptionTarget", low.Status.Conditions)
	}
	if p := c.pod("high"); p.Spec.NodeName != "" {
		t.Fatal("bound before the victim left")
	}
	// The node agent would finish the deletion.
	zero := int64(0)
	if err := c.client.CoreV1().Pods("default").Delete(c.ctx, "low", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if got := c.waitBound("high"); got != "n1" {
		t.Fatalf("bound to %s", got)
	}
}

func TestPreemptionPolicyNever(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(quick(mkPod().Name("low").PriorityClass(c.class(1)).Req("cpu", "2").Obj()))
	c.waitBound("low")
	c.createPod(mkPod().Name("polite").PriorityClass(c.neverClass(100)).Req("cpu", "2").Obj())
	const want = "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
	if got := c.waitUnschedulable("polite"); got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if c.gone("low") {
		t.Fatal("Never pod preempted")
	}
}

func TestPreemptionRespectsPDB(t *testing.T) {
	c := startCluster(t, []*corev1.Node{node("n1").Obj(), node("n2").Obj()})
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}}}
	if _, err := c.client.PolicyV1().PodDisruptionBudgets("default").Create(c.ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.createPod(quick(mkPod().Name("guarded").Node("n1").Label("app", "guarded").PriorityClass(c.class(1)).Req("cpu", "2").Obj()))
	c.createPod(quick(mkPod().Name("free").Node("n2").Label("app", "free").PriorityClass(c.class(1)).Req("cpu", "2").Obj()))
	// The scheduler's informers start with the PDB and both pods.
	c.runScheduler(noLeaderElection())
	c.createPod(mkPod().Name("high").PriorityClass(c.class(100)).Req("cpu", "2").Obj())
	if got := c.waitBound("high"); got != "n2" {
		t.Fatalf("bound to %s, want n2 (its victim has no budget)", got)
	}
	if c.gone("guarded") || !c.gone("free") {
		t.Fatalf("guarded gone %v, free gone %v", c.gone("guarded"), c.gone("free"))
	}
}

// TestPriorityOrder: when room frees up, the higher-priority pending pod
// gets it.
func TestPriorityOrder(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(quick(mkPod().Name("blocker").PriorityClass(c.class(1000)).Req("cpu", "2").Obj()))
	c.waitBound("blocker")
	c.createPod(mkPod().Name("low").PriorityClass(c.neverClass(1)).Req("cpu", "2").Obj())
	c.createPod(mkPod().Name("high").PriorityClass(c.neverClass(10)).Req("cpu", "2").Obj())
	c.waitUnschedulable("low")
	c.waitUnschedulable("high")
	zero := int64(0)
	if err := c.client.CoreV1().Pods("default").Delete(c.ctx, "blocker", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if got := c.waitBound("high"); got != "n1" {
		t.Fatalf("high bound to %s", got)
	}
	if msg := c.waitUnschedulable("low"); !strings.Contains(msg, "Insufficient cpu") {
		t.Fatalf("low: %q", msg)
	}
}

// TestBuiltinPriorityClass: with the server's Priority admission, a pod
// naming system-cluster-critical preempts an ordinary one, and a missing
// class is refused.
func TestBuiltinPriorityClass(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(quick(mkPod().Name("ordinary").Req("cpu", "2").Obj()))
	c.waitBound("ordinary")
	critical := c.createPod(mkPod().Name("critical").PriorityClass("system-cluster-critical").Req("cpu", "2").Obj())
	if critical.Spec.Priority == nil || *critical.Spec.Priority != 2000000000 {
		t.Fatalf("priority = %v, want 2000000000", critical.Spec.Priority)
	}
	c.waitBound("critical")
	if !c.gone("ordinary") {
		t.Fatal("ordinary pod not preempted")
	}
	p := mkPod().Name("typo").PriorityClass("does-not-exist").Obj()
	p.UID = ""
	_, err := c.client.CoreV1().Pods("default").Create(c.ctx, p, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no PriorityClass with name does-not-exist was found") {
		t.Fatalf("err = %v", err)
	}
}
