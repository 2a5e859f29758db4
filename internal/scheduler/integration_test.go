package scheduler_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

var (
	mkPod  = schedtest.MakePod
	mkNode = schedtest.MakeNode
)

func node(name string) *schedtest.NodeWrapper {
	return mkNode().Name(name).Capacity("cpu", "2", "memory", "4Gi", "pods", "10")
}

func TestScheduledEvent(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(mkPod().Name("p").Req("cpu", "1").Obj())
	if got := c.waitBound("p"); got != "n1" {
		t.Fatalf("bound to %s", got)
	}
	p := c.pod("p")
	if cond := p.Status.Conditions; len(cond) == 0 || cond[0].Type != corev1.PodScheduled || cond[0].Status != corev1.ConditionTrue {
		t.Errorf("conditions = %+v", cond)
	}
	c.waitEvent("p", "Normal Scheduled Successfully assigned default/p to n1 (default-scheduler)")
}

// TestFailedScheduling checks the message users read, then that a node
// update that removes the obstacle schedules the pod.
func TestFailedScheduling(t *testing.T) {
	nodes := []*corev1.Node{
		node("small").Capacity("cpu", "1", "memory", "4Gi", "pods", "10").Obj(),
		node("tainted1").Taint("key", "value", corev1.TaintEffectNoSchedule).Obj(),
		node("tainted2").Taint("key", "value", corev1.TaintEffectNoSchedule).Obj(),
	}
	c := newCluster(t, nodes, nil)
	c.createPod(mkPod().Name("p").Req("cpu", "1500m").Obj())
	const want = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {key: value}. " +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	if got := c.waitUnschedulable("p"); got != want {
		t.Fatalf("message:\n got %q\nwant %q", got, want)
	}
	c.waitEvent("p", "Warning FailedScheduling "+want+" (default-scheduler)")

	n, err := c.client.CoreV1().Nodes().Get(c.ctx, "tainted2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = nil
	if _, err := c.client.CoreV1().Nodes().Update(c.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := c.waitBound("p"); got != "tainted2" {
		t.Fatalf("bound to %s, want tainted2", got)
	}
}

// TestPlacementRules runs one pod per case against its own cluster and
// checks where it lands, or the reason it cannot.
func TestPlacementRules(t *testing.T) {
	zone := corev1.LabelTopologyZone
	host := corev1.LabelHostname
	tests := []struct {
		name     string
		nodes    []*corev1.Node
		existing []*corev1.Pod
		pod      *corev1.Pod
		wantNode string
		wantMsg  string
	}{
		{name: "requests pick the node with room",
			nodes:    []*corev1.Node{node("n1").Obj(), node("n2").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("n1").Req("cpu", "1500m").Obj()},
			pod:      mkPod().Name("p").Req("cpu", "1").Obj(), wantNode: "n2"},
		{name: "max pods",
			nodes:    []*corev1.Node{node("n1").Capacity("cpu", "2", "pods", "1").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("n1").Obj()},
			pod:      mkPod().Name("p").Obj(),
			wantMsg:  "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
		{name: "extended resources",
			nodes: []*corev1.Node{node("n1").Obj(), node("gpu").Capacity("cpu", "2", "pods", "10", "example.com/gpu", "1").Obj()},
			pod:   mkPod().Name("p").ReqLim("example.com/gpu", "1").Obj(), wantNode: "gpu"},
		{name: "init containers and sidecars",
			nodes: []*corev1.Node{node("n1").Capacity("cpu", "1", "pods", "10").Obj()},
			pod:   mkPod().Name("p").Req("cpu", "500m").SidecarReq("cpu", "600m").Obj(),
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: " +
				"1 Preemption is not helpful for scheduling."},
		{name: "node selector",
			nodes: []*corev1.Node{node("n1").Label("disk", "hdd").Obj(), node("n2").Label("disk", "ssd").Obj()},
			pod:   mkPod().Name("p").NodeSelector("disk", "ssd").Obj(), wantNode: "n2"},
		{name: "node affinity nobody matches",
			nodes: []*corev1.Node{node("n1").Obj()},
			pod:   mkPod().Name("p").NodeAffinity("disk", corev1.NodeSelectorOpIn, "nvme").Obj(),
			wantMsg: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. " +
				"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."},
		{name: "toleration",
			nodes: []*corev1.Node{node("n1").Taint("dedicated", "db", corev1.TaintEffectNoSchedule).Obj()},
			pod:   mkPod().Name("p").Toleration("dedicated", "db", corev1.TaintEffectNoSchedule).Obj(), wantNode: "n1"},
		{name: "not-ready taint",
			nodes: []*corev1.Node{node("n1").Taint(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoSchedule).Obj(), node("n2").Obj()},
			pod:   mkPod().Name("p").Obj(), wantNode: "n2"},
		{name: "cordoned node",
			nodes: []*corev1.Node{node("n1").Unschedulable().Obj()},
			pod:   mkPod().Name("p").Obj(),
			wantMsg: "0/1 nodes are available: 1 node(s) were unschedulable. " +
				"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."},
		{name: "host ports",
			nodes:    []*corev1.Node{node("n1").Obj(), node("n2").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("n1").HostPort("", "", 8080).Obj()},
			pod:      mkPod().Name("p").HostPort("", "", 8080).Obj(), wantNode: "n2"},
		{name: "topology spread",
			nodes:    []*corev1.Node{node("a1").Zone("a").Obj(), node("b1").Zone("b").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("a1").Label("app", "web").Obj()},
			pod:      mkPod().Name("p").Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), wantNode: "b1"},
		{name: "topology spread unsatisfiable",
			nodes:    []*corev1.Node{node("a1").Zone("a").Obj(), node("b1").Zone("b").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("a1").Label("app", "web").Obj()},
			pod:      mkPod().Name("p").Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(),
			wantMsg: "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {k: v}. " +
				"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."},
		{name: "pod anti-affinity",
			nodes:    []*corev1.Node{node("n1").Obj(), node("n2").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("n1").Label("app", "db").Obj()},
			pod:      mkPod().Name("p").PodAntiAffinity(schedtest.PodAffinityTerm(host, "app", "db")).Obj(), wantNode: "n2"},
		{name: "pod affinity",
			nodes:    []*corev1.Node{node("a1").Zone("a").Obj(), node("b1").Zone("b").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("b1").Label("app", "db").Obj()},
			pod:      mkPod().Name("p").PodAffinity(schedtest.PodAffinityTerm(zone, "app", "db")).Obj(), wantNode: "b1"},
		{name: "pod anti-affinity everywhere",
			nodes:    []*corev1.Node{node("n1").Obj()},
			existing: []*corev1.Pod{mkPod().Name("e").Node("n1").Label("app", "db").Obj()},
			pod:      mkPod().Name("p").PodAntiAffinity(schedtest.PodAffinityTerm(host, "app", "db")).Obj(),
			wantMsg: "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. " +
				"preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, tc.nodes, nil)
			for _, e := range tc.existing {
				c.createPod(e)
			}
			c.createPod(tc.pod)
			if tc.wantMsg != "" {
				if got := c.waitUnschedulable(tc.pod.Name); got != tc.wantMsg {
					t.Fatalf("message:\n got %q\nwant %q", got, tc.wantMsg)
				}
				return
			}
			if got := c.waitBound(tc.pod.Name); got != tc.wantNode {
				t.Fatalf("bound to %s, want %s", got, tc.wantNode)
			}
		})
	}
}

// TestOtherSchedulerNameLeftAlone: a pod for another scheduler stays
// pending and untouched while ours is placed.
func TestOtherSchedulerNameLeftAlone(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	c.createPod(mkPod().Name("theirs").SchedulerName("other-scheduler").Obj())
	c.createPod(mkPod().Name("ours").Obj())
	c.waitBound("ours")
	p := c.pod("theirs")
	if p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 || len(c.events("theirs")) != 0 {
		t.Fatalf("other scheduler's pod touched: node %q conditions %+v events %v", p.Spec.NodeName, p.Status.Conditions, c.events("theirs"))
	}
}

func podTerm(topologyKey, app string) corev1.PodAffinityTerm {
	return schedtest.PodAffinityTerm(topologyKey, "app", app)
}

// TestNoNodes: with no nodes the pod says so, and a new node places it.
func TestNoNodes(t *testing.T) {
	c := newCluster(t, nil, nil)
	c.createPod(mkPod().Name("p").Obj())
	c.eventually("no-nodes condition", func() (bool, string) {
		p := c.pod("p")
		cond := framework.PodCondition(p, corev1.PodScheduled)
		return cond != nil && cond.Message == "no nodes available to schedule pods", fmt.Sprintf("%+v", cond)
	})
	c.createNode(node("late").Obj())
	if got := c.waitBound("p"); got != "late" {
		t.Fatalf("bound to %s", got)
	}
}

// TestSchedulingGates: a gated pod waits until its gates are removed.
func TestSchedulingGates(t *testing.T) {
	c := newCluster(t, []*corev1.Node{node("n1").Obj()}, nil)
	p := mkPod().Name("gated").Obj()
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	c.createPod(p)
	c.createPod(mkPod().Name("free").Obj())
	c.waitBound("free")
	if got := c.pod("gated"); got.Spec.NodeName != "" {
		t.Fatal("gated pod scheduled")
	}
	got := c.pod("gated")
	got.Spec.SchedulingGates = nil
	if _, err := c.client.CoreV1().Pods("default").Update(c.ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitBound("gated")
}
