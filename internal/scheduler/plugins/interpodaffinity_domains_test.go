package plugins

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestAntiAffinityFilterPerDomainMatchesLabelLookup checks, on random
// clusters whose nodes come, go and change labels between cycles, that
// InterPodAffinity's Filter — which tests a node's domain number against
// the rejecting domains found in PreFilter — rejects exactly the nodes
// that looking up each node's label rejects: for the snapshot's NodeInfos
// and for others, and after preemption-style AddPod/RemovePod on a clone
// of the state.
func TestAntiAffinityFilterPerDomainMatchesLabelLookup(t *testing.T) {
	ctx := context.Background()
	fast := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var nodes []*corev1.Node
		for i := range 5 + rng.IntN(30) {
			nodes = append(nodes, randomLabelledNode(rng, fmt.Sprint("n", i)))
		}
		var pods []*corev1.Pod
		for i := range rng.IntN(60) {
			pods = append(pods, randomAntiAffinityPod(rng, fmt.Sprint("e", i), nodes[rng.IntN(len(nodes))].Name))
		}
		snap := framework.NewSnapshot(pods, nodes)
		fwk := snapshotFramework(t, snap)
		mk := func(scan bool) *InterPodAffinity {
			p, _ := NewInterPodAffinity(nil, fwk)
			p.(*InterPodAffinity).scanAll = scan
			return p.(*InterPodAffinity)
		}
		indexed, scanned := mk(false), mk(true)
		for round := range 5 {
			for i := range 8 {
				pod := randomAntiAffinityPod(rng, fmt.Sprint("p", i), "")
				states := [2]*framework.CycleState{framework.NewCycleState(), framework.NewCycleState()}
				skip := false
				for k, p := range []*InterPodAffinity{indexed, scanned} {
					_, s := p.PreFilter(ctx, states[k], pod)
					if s.Code() == framework.Skip {
						skip = true
					} else if !s.IsSuccess() {
						t.Fatalf("seed %d: PreFilter: %v", seed, s)
					}
				}
				if skip {
					continue
				}
				s, _ := readState[*ipaFilterState](states[0], ipaPreFilterKey)
				for _, d := range append(s.existingAntiDomains, s.antiDomains...) {
					if d.domains != nil {
						fast++
					}
				}
				where := fmt.Sprintf("seed %d round %d pod %d", seed, round, i)
				compareFilters(t, where, indexed, scanned, states, pod, snap)
				// What preemption and nominated pods do: change a clone.
				ni := snap.List()[rng.IntN(snap.NumNodes())]
				other := framework.NewPodInfo(randomAntiAffinityPod(rng, "x", ni.Name()))
				add := rng.IntN(2) == 0 || len(ni.Pods) == 0
				for k, p := range []*InterPodAffinity{indexed, scanned} {
					states[k] = states[k].Clone()
					if add {
						p.AddPod(ctx, states[k], pod, other, ni)
					} else {
						p.RemovePod(ctx, states[k], pod, ni.Pods[0], ni)
					}
				}
				compareFilters(t, where+" after AddPod/RemovePod", indexed, scanned, states, pod, snap)
			}
			changeNodes(rng, snap, &nodes)
		}
	}
	if fast == 0 {
		t.Fatal("no Filter tested nodes by domain number: the test does not exercise the fast path")
	}
}

// compareFilters fails unless both plugins' Filter, each with its state,
// say the same for every node of snap and for a NodeInfo outside it.
func compareFilters(t *testing.T, where string, a, b framework.FilterPlugin, states [2]*framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) {
	t.Helper()
	ctx := context.Background()
	outside := framework.NewNodeInfo()
	for _, ni := range snap.List() {
		outside.SetNode(ni.Node())
		for _, n := range []*framework.NodeInfo{ni, outside} {
			got, want := a.Filter(ctx, states[0], pod, n), b.Filter(ctx, states[1], pod, n)
			if got.String() != want.String() || got.Plugin() != want.Plugin() {
				t.Fatalf("%s: node %s %v: indexed Filter says %v (%s), label lookup %v (%s)",
					where, n.Name(), n.Node().Labels, got, got.Plugin(), want, want.Plugin())
			}
		}
	}
}

// randomAntiAffinityPod is labelled app=aN and, mostly, keeps pods with
// some app label out of its domain of a key with one value per node
// (hostname), few (zone, gen) or one the nodes may lack (tier).
func randomAntiAffinityPod(rng *rand.Rand, name, node string) *corev1.Pod {
	keys := []string{corev1.LabelHostname, corev1.LabelTopologyZone, "gen", "tier"}
	w := st.MakePod().Name(name).Node(node).Label("app", fmt.Sprint("a", rng.IntN(3)))
	for range rng.IntN(3) {
		w = w.PodAntiAffinity(st.PodAffinityTerm(keys[rng.IntN(len(keys))], "app", fmt.Sprint("a", rng.IntN(3))))
	}
	return w.Obj()
}
