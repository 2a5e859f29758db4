package plugins

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// BenchmarkInterPodAffinityFilter is Filter over the 5000 nodes of the
// scheduling benchmark for a pod with hostname anti-affinity against its
// group, with 5 pods of the group already placed (each also keeping the
// group off its host); ns/op is per node.
func BenchmarkInterPodAffinityFilter(b *testing.B) {
	const numNodes = 5000
	nodes := make([]*corev1.Node, numNodes)
	for i := range nodes {
		nodes[i] = st.MakeNode().Name(fmt.Sprint("node-", i)).Zone(fmt.Sprint("zone-", i%10)).Label("bench", "true").Obj()
	}
	anti := func(name, node string) *corev1.Pod {
		return st.MakePod().Name(name).Node(node).Label("app", "anti-0").
			PodAntiAffinity(st.PodAffinityTerm(corev1.LabelHostname, "app", "anti-0")).Obj()
	}
	var pods []*corev1.Pod
	for i := range 25000 {
		node := fmt.Sprint("node-", i%numNodes)
		if i%1000 == 0 && i < numNodes {
			pods = append(pods, anti(fmt.Sprint("e", i), node))
			continue
		}
		pods = append(pods, st.MakePod().Name(fmt.Sprint("e", i)).Node(node).Label("app", fmt.Sprint("web-", i/50)).Obj())
	}
	snap := framework.NewSnapshot(pods, nodes)
	p, err := NewInterPodAffinity(nil, snapshotFramework(b, snap))
	if err != nil {
		b.Fatal(err)
	}
	ipa := p.(*InterPodAffinity)
	ctx := context.Background()
	pod := anti("incoming", "")
	state := framework.NewCycleState()
	for range 2 { // the second PreFilter finds the snapshot's hostname domains
		if _, s := ipa.PreFilter(ctx, state, pod); !s.IsSuccess() {
			b.Fatal(s)
		}
	}
	list := snap.List()
	rejected := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if !ipa.Filter(ctx, state, pod, list[i%numNodes]).IsSuccess() {
			rejected++
		}
	}
	if b.N >= numNodes && rejected != b.N/numNodes*5 {
		b.Fatalf("rejected %d nodes in %d filters, want 5 per pass", rejected, b.N)
	}
}
