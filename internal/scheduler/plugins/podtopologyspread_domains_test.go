package plugins

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestSpreadFilterPerDomainMatchesLabelLookup checks, on random clusters
// whose nodes come, go and change labels between cycles, that
// PodTopologySpread's Filter — which answers from verdicts decided once
// per domain of the snapshot — rejects exactly the nodes that looking up
// each node's label rejects: for the snapshot's NodeInfos and for others,
// and after preemption-style AddPod/RemovePod on a clone of the state.
func TestSpreadFilterPerDomainMatchesLabelLookup(t *testing.T) {
	ctx := context.Background()
	fast := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 4))
		var nodes []*corev1.Node
		for i := range 5 + rng.IntN(30) {
			nodes = append(nodes, randomLabelledNode(rng, fmt.Sprint("n", i)))
		}
		var pods []*corev1.Pod
		for i := range rng.IntN(80) {
			pods = append(pods, st.RandomPod(rng, fmt.Sprint("e", i), nodes[rng.IntN(len(nodes))].Name).Obj())
		}
		snap := framework.NewSnapshot(pods, nodes)
		fwk := snapshotFramework(t, snap)
		mk := func(scan bool) *PodTopologySpread {
			p, _ := NewPodTopologySpread(nil, fwk)
			p.(*PodTopologySpread).scanAll = scan
			return p.(*PodTopologySpread)
		}
		indexed, scanned := mk(false), mk(true)
		for round := range 5 {
			for i := range 8 {
				pod := randomSpreadPod(rng, i)
				states := [2]*framework.CycleState{framework.NewCycleState(), framework.NewCycleState()}
				for k, p := range []*PodTopologySpread{indexed, scanned} {
					if _, s := p.PreFilter(ctx, states[k], pod); !s.IsSuccess() {
						t.Fatalf("seed %d: PreFilter: %v", seed, s)
					}
				}
				if s, _ := readState[*spreadFilterState](states[0], spreadPreFilterKey); s.verdicts[0] != nil {
					fast++
				}
				where := fmt.Sprintf("seed %d round %d pod %d", seed, round, i)
				compareSpreadFilters(t, where, indexed, scanned, states, pod, snap)
				// What preemption and nominated pods do: change a clone.
				ni := snap.List()[rng.IntN(snap.NumNodes())]
				other := framework.NewPodInfo(st.RandomPod(rng, "x", ni.Name()).Obj())
				add := rng.IntN(2) == 0 || len(ni.Pods) == 0
				for k, p := range []*PodTopologySpread{indexed, scanned} {
					states[k] = states[k].Clone()
					if add {
						p.AddPod(ctx, states[k], pod, other, ni)
					} else {
						p.RemovePod(ctx, states[k], pod, ni.Pods[0], ni)
					}
				}
				compareSpreadFilters(t, where+" after AddPod/RemovePod", indexed, scanned, states, pod, snap)
			}
			changeNodes(rng, snap, &nodes)
		}
	}
	if fast == 0 {
		t.Fatal("no PreFilter decided per domain: the test does not exercise the fast path")
	}
}

// compareSpreadFilters fails unless both plugins' Filter, each with its
// state, say the same for every node of snap and for a NodeInfo outside it.
func compareSpreadFilters(t *testing.T, where string, a, b *PodTopologySpread, states [2]*framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) {
	t.Helper()
	ctx := context.Background()
	outside := framework.NewNodeInfo()
	for _, ni := range snap.List() {
		outside.SetNode(ni.Node())
		for _, n := range []*framework.NodeInfo{ni, outside} {
			got, want := a.Filter(ctx, states[0], pod, n), b.Filter(ctx, states[1], pod, n)
			if got.String() != want.String() || got.Plugin() != want.Plugin() {
				t.Fatalf("%s: node %s %v: per-domain Filter says %v (%s), label lookup %v (%s)",
					where, n.Name(), n.Node().Labels, got, got.Plugin(), want, want.Plugin())
			}
		}
	}
}

// randomSpreadPod has a DoNotSchedule constraint on a key with few values
// (zone, gen) or one per node (hostname), sometimes with minDomains.
func randomSpreadPod(rng *rand.Rand, i int) *corev1.Pod {
	keys := []string{corev1.LabelTopologyZone, "gen", corev1.LabelHostname}
	c := corev1.TopologySpreadConstraint{MaxSkew: int32(1 + rng.IntN(2)), TopologyKey: keys[rng.IntN(len(keys))],
		WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprint("a", rng.IntN(4))}}}
	if rng.IntN(3) == 0 {
		m := int32(1 + rng.IntN(5))
		c.MinDomains = &m
	}
	return st.MakePod().Name(fmt.Sprint("s", i)).Label("app", fmt.Sprint("a", rng.IntN(4))).SpreadConstraint(c).Obj()
}
