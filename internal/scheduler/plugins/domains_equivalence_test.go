package plugins

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// domainFiltered is a plugin whose Filter answers per topology domain
// from what PreFilter found (scanAll off) or by looking up each node's
// labels (scanAll on).
type domainFiltered interface {
	framework.PreFilterPlugin
	framework.FilterPlugin
	framework.PreFilterExtensions
}

// domainFilterCase is what checkDomainFilters needs of one plugin.
type domainFilterCase struct {
	// stream seeds the random clusters (with the seed number).
	stream uint64
	plugin func(fwk *framework.Framework, scanAll bool) domainFiltered
	// existing is a pod on node; incoming is pod i to schedule.
	existing func(rng *rand.Rand, name, node string) *corev1.Pod
	incoming func(rng *rand.Rand, i int) *corev1.Pod
	// fast reports whether the per-domain state answers from domains.
	fast func(state *framework.CycleState) bool
}

// checkDomainFilters checks, on random clusters whose nodes come, go and
// change labels between cycles, that the plugin's per-domain Filter
// rejects exactly the nodes that looking up each node's label rejects:
// for the snapshot's NodeInfos and for others, and after
// preemption-style AddPod/RemovePod on a clone of the state.
func checkDomainFilters(t *testing.T, c domainFilterCase) {
	t.Helper()
	ctx := context.Background()
	fast := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, c.stream))
		var nodes []*corev1.Node
		for i := range 5 + rng.IntN(30) {
			nodes = append(nodes, randomLabelledNode(rng, fmt.Sprint("n", i)))
		}
		var pods []*corev1.Pod
		for i := range rng.IntN(80) {
			pods = append(pods, c.existing(rng, fmt.Sprint("e", i), nodes[rng.IntN(len(nodes))].Name))
		}
		snap := framework.NewSnapshot(pods, nodes)
		fwk := snapshotFramework(t, snap)
		plugins := [2]domainFiltered{c.plugin(fwk, false), c.plugin(fwk, true)}
		for round := range 5 {
			for i := range 8 {
				pod := c.incoming(rng, i)
				where := fmt.Sprintf("seed %d round %d pod %d", seed, round, i)
				states := [2]*framework.CycleState{framework.NewCycleState(), framework.NewCycleState()}
				var codes [2]framework.Code
				for k, p := range plugins {
					_, s := p.PreFilter(ctx, states[k], pod)
					if codes[k] = s.Code(); !s.IsSuccess() && s.Code() != framework.Skip {
						t.Fatalf("%s: PreFilter: %v", where, s)
					}
				}
				if codes[0] != codes[1] {
					t.Fatalf("%s: PreFilter per domain %v, with label lookups %v", where, codes[0], codes[1])
				}
				if codes[0] == framework.Skip {
					continue
				}
				if c.fast(states[0]) {
					fast++
				}
				compareFilters(t, where, plugins, states, pod, snap)
				// What preemption and nominated pods do: change a clone.
				ni := snap.List()[rng.IntN(snap.NumNodes())]
				other := framework.NewPodInfo(c.existing(rng, "x", ni.Name()))
				add := rng.IntN(2) == 0 || len(ni.Pods) == 0
				for k, p := range plugins {
					states[k] = states[k].Clone()
					if add {
						p.AddPod(ctx, states[k], pod, other, ni)
					} else {
						p.RemovePod(ctx, states[k], pod, ni.Pods[0], ni)
					}
				}
				compareFilters(t, where+" after AddPod/RemovePod", plugins, states, pod, snap)
			}
			changeNodes(rng, snap, &nodes)
		}
	}
	if fast == 0 {
		t.Fatal("no PreFilter decided per domain: the test does not exercise the fast path")
	}
}

// compareFilters fails unless both plugins' Filter, each with its state,
// say the same for every node of snap and for a NodeInfo outside it.
func compareFilters(t *testing.T, where string, p [2]domainFiltered, states [2]*framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) {
	t.Helper()
	ctx := context.Background()
	outside := framework.NewNodeInfo()
	for _, ni := range snap.List() {
		outside.SetNode(ni.Node())
		for _, n := range []*framework.NodeInfo{ni, outside} {
			got, want := p[0].Filter(ctx, states[0], pod, n), p[1].Filter(ctx, states[1], pod, n)
			if got.String() != want.String() || got.Plugin() != want.Plugin() {
				t.Fatalf("%s: node %s %v: per-domain Filter says %v (%s), label lookup %v (%s)",
					where, n.Name(), n.Node().Labels, got, got.Plugin(), want, want.Plugin())
			}
		}
	}
}
