package cache

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func node(name, zone string) *corev1.Node {
	return st.MakeNode().Name(name).Zone(zone).Capacity("cpu", "4", "pods", "10").Obj()
}

func TestAssumeConfirmForget(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "a"))
	p := st.MakePod().Name("p").Req("cpu", "1").Obj()
	assumed := p.DeepCopy()
	assumed.Spec.NodeName = "n1"
	if err := c.AssumePod(framework.NewPodInfo(assumed)); err != nil {
		t.Fatal(err)
	}
	if !c.IsAssumedPod(p) || c.Dump()["n1"].Requested.MilliCPU != 1000 {
		t.Fatal("assumed pod not counted")
	}
	if err := c.AssumePod(framework.NewPodInfo(assumed)); err == nil {
		t.Fatal("assuming twice: want error")
	}
	c.ForgetPod(assumed)
	if c.IsAssumedPod(p) || c.Dump()["n1"].Requested.MilliCPU != 0 {
		t.Fatal("forgotten pod still counted")
	}
	// Assume again, then the informer confirms the binding.
	_ = c.AssumePod(framework.NewPodInfo(assumed))
	bound := assumed.DeepCopy()
	bound.ResourceVersion = "2"
	c.AddPod(bound)
	if c.IsAssumedPod(p) || c.PodCount() != 1 || c.Dump()["n1"].Requested.MilliCPU != 1000 {
		t.Fatal("confirmation broke the accounting")
	}
	c.ForgetPod(bound) // no-op for a confirmed pod
	if c.PodCount() != 1 {
		t.Fatal("forget removed a confirmed pod")
	}
}

func TestBoundElsewhereMovesThePod(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "a"))
	c.AddNode(node("n2", "a"))
	p := st.MakePod().Name("p").Req("cpu", "1").Node("n1").Obj()
	_ = c.AssumePod(framework.NewPodInfo(p))
	other := p.DeepCopy()
	other.Spec.NodeName = "n2"
	c.AddPod(other)
	d := c.Dump()
	if d["n1"].Requested.MilliCPU != 0 || d["n2"].Requested.MilliCPU != 1000 {
		t.Fatalf("n1 %d, n2 %d", d["n1"].Requested.MilliCPU, d["n2"].Requested.MilliCPU)
	}
}

func TestSnapshotIsImmutableAndIncremental(t *testing.T) {
	c := New()
	for _, n := range []*corev1.Node{node("a1", "a"), node("a2", "a"), node("b1", "b"), node("c1", "c")} {
		c.AddNode(n)
	}
	snap := &framework.Snapshot{}
	c.UpdateSnapshot(snap)
	var order []string
	for _, ni := range snap.List() {
		order = append(order, ni.Node().Name)
	}
	if want := []string{"a1", "b1", "c1", "a2"}; !equal(order, want) {
		t.Fatalf("order = %v, want zones interleaved %v", order, want)
	}
	before, _ := snap.Get("a1")
	untouched, _ := snap.Get("b1")
	c.AddPod(st.MakePod().Name("p").Node("a1").Req("cpu", "1").Obj())
	if before.Requested.MilliCPU != 0 {
		t.Fatal("the snapshot changed under a cycle")
	}
	c.UpdateSnapshot(snap)
	after, _ := snap.Get("a1")
	if after.Requested.MilliCPU != 1000 || snap.List()[0] != after {
		t.Fatal("snapshot not refreshed")
	}
	if again, _ := snap.Get("b1"); again != untouched {
		t.Fatal("an unchanged node was copied")
	}
	c.RemoveNode(node("c1", "c"))
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 3 {
		t.Fatalf("nodes = %d after removal", snap.NumNodes())
	}
}

func TestRemovedNodeKeepsPodsUntilTheyGo(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "a"))
	p := st.MakePod().Name("p").Node("n1").Obj()
	c.AddPod(p)
	c.RemoveNode(node("n1", "a"))
	snap := &framework.Snapshot{}
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 0 || c.PodCount() != 1 {
		t.Fatal("gone node listed, or its pod lost")
	}
	c.RemovePod(p)
	if len(c.Dump()) != 0 {
		t.Fatal("empty gone node kept")
	}
}

func TestImageStates(t *testing.T) {
	c := New()
	c.AddNode(st.MakeNode().Name("n1").Image(100, "img:1").Obj())
	c.AddNode(st.MakeNode().Name("n2").Image(100, "img:1").Obj())
	snap := &framework.Snapshot{}
	c.UpdateSnapshot(snap)
	n1, _ := snap.Get("n1")
	if s := n1.ImageStates["img:1"]; s == nil || s.NumNodes != 2 || s.Size != 100 {
		t.Fatalf("image state = %+v", s)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSnapshotLaidOutInListOrder: whatever nodes and pods come and go, the
// snapshot's NodeInfos sit in one block in the order of its list, the map,
// the list and the affinity sets hold the same NodeInfo per node, and
// each holds what the cache holds for the node.
func TestSnapshotLaidOutInListOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := New()
	snap := &framework.Snapshot{}
	var pods []*corev1.Pod
	for round := range 200 {
		switch r := rng.IntN(10); {
		case r == 0:
			c.AddNode(node(fmt.Sprint("n", rng.IntN(30)), fmt.Sprint("z", rng.IntN(3))))
		case r == 1:
			c.RemoveNode(node(fmt.Sprint("n", rng.IntN(30)), ""))
		case r < 5 && len(pods) > 0:
			k := rng.IntN(len(pods))
			c.RemovePod(pods[k])
			pods = append(pods[:k], pods[k+1:]...)
		default:
			w := st.MakePod().Name(fmt.Sprint("p", round)).Node(fmt.Sprint("n", rng.IntN(30))).Req("cpu", "100m")
			if rng.IntN(3) == 0 {
				w = w.PodAntiAffinity(st.PodAffinityTerm(corev1.LabelHostname, "app", "x"))
			}
			p := w.Obj()
			p.UID = types.UID(p.Name)
			c.AddPod(p)
			pods = append(pods, p)
		}
		c.UpdateSnapshot(snap)
		cached := c.Dump()
		for i, ni := range snap.List() {
			name := ni.Name()
			if ni != &c.block[i] || snap.NodeInfoMap[name] != ni {
				t.Fatalf("round %d: node %s at %d is not the block's NodeInfo in list and map", round, name, i)
			}
			for _, m := range []map[string]*framework.NodeInfo{snap.HavePodsWithAffinity, snap.HavePodsWithRequiredAntiAffinity} {
				if held, ok := m[name]; ok && held != ni {
					t.Fatalf("round %d: an affinity set holds another NodeInfo of %s", round, name)
				}
			}
			want := cached[name]
			if ni.Requested.MilliCPU != want.Requested.MilliCPU || len(ni.Pods) != len(want.Pods) ||
				len(ni.PodsWithRequiredAntiAffinity) != len(want.PodsWithRequiredAntiAffinity) {
				t.Fatalf("round %d: node %s: snapshot has %+v and %d pods, cache %+v and %d pods",
					round, name, ni.Requested, len(ni.Pods), want.Requested, len(want.Pods))
			}
			_, listed := snap.HavePodsWithRequiredAntiAffinity[name]
			if listed != (len(ni.PodsWithRequiredAntiAffinity) > 0) {
				t.Fatalf("round %d: node %s listed with anti-affinity pods: %v", round, name, listed)
			}
		}
		if len(snap.NodeInfoMap) != snap.NumNodes() {
			t.Fatalf("round %d: %d nodes in the map, %d in the list", round, len(snap.NodeInfoMap), snap.NumNodes())
		}
	}
}
