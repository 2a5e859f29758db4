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

// TestNodeAffinityMatchesCachedAndUncached checks, on random clusters whose
// nodes come, go and change labels between cycles, that NodeAffinity's
// Filter — which answers repeated node constraints from the snapshot's
// NodeMatches — decides every node exactly like RequiredNodeAffinity.Match
// on the node itself, for NodeInfos of the snapshot and for others.
func TestNodeAffinityMatchesCachedAndUncached(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 2))
		var nodes []*corev1.Node
		for i := range 5 + rng.IntN(30) {
			nodes = append(nodes, randomLabelledNode(rng, fmt.Sprint("n", i)))
		}
		snap := framework.NewSnapshot(nil, nodes)
		na, _ := NewNodeAffinity(nil, snapshotFramework(t, snap))
		pods := make([]*corev1.Pod, 12)
		for i := range pods {
			pods[i] = randomNodeConstrainedPod(rng, i)
		}
		for round := range 6 {
			// Each pod several times: the first asks, later ones read the
			// cached set; pods share constraints now and then.
			for i := range 3 * len(pods) {
				pod := pods[rng.IntN(len(pods))]
				want := NewRequiredNodeAffinity(pod)
				state := framework.NewCycleState()
				if _, s := na.(framework.PreFilterPlugin).PreFilter(ctx, state, pod); s.Code() == framework.Skip {
					continue
				}
				others := framework.NewNodeInfo()
				for _, ni := range snap.List() {
					others.SetNode(ni.Node())
					for _, n := range []*framework.NodeInfo{ni, others} {
						got := na.(framework.FilterPlugin).Filter(ctx, state, pod, n).IsSuccess()
						if got != want.Match(n.Node()) {
							t.Fatalf("seed %d round %d try %d: pod %v on node %s %v: filter says %v, Match %v",
								seed, round, i, pod.Spec, n.Name(), n.Node().Labels, got, !got)
						}
					}
				}
			}
			changeNodes(rng, snap, &nodes)
		}
	}
}

// changeNodes relabels, removes and adds nodes of snap between cycles, the
// way the scheduler cache refreshes it.
func changeNodes(rng *rand.Rand, snap *framework.Snapshot, nodes *[]*corev1.Node) {
	replace := func(node *corev1.Node) {
		ni := framework.NewNodeInfo()
		ni.SetNode(node)
		snap.ReplaceNode(node.Name, ni)
	}
	for i, n := range *nodes {
		switch rng.IntN(6) {
		case 0: // relabel
			(*nodes)[i] = randomLabelledNode(rng, n.Name)
			replace((*nodes)[i])
		case 1: // same labels, new object (a status update)
			(*nodes)[i] = n.DeepCopy()
			replace((*nodes)[i])
		}
	}
	if len(*nodes) > 3 && rng.IntN(2) == 0 {
		gone := rng.IntN(len(*nodes))
		snap.ReplaceNode((*nodes)[gone].Name, nil)
		*nodes = append((*nodes)[:gone], (*nodes)[gone+1:]...)
	}
	for range rng.IntN(3) {
		n := randomLabelledNode(rng, fmt.Sprint("m", rng.IntN(1000)))
		if _, err := snap.Get(n.Name); err == nil {
			continue
		}
		*nodes = append(*nodes, n)
		replace(n)
	}
	snap.NodeInfoList = snap.NodeInfoList[:0]
	for _, n := range *nodes {
		ni, _ := snap.Get(n.Name)
		snap.NodeInfoList = append(snap.NodeInfoList, ni)
	}
}

func randomLabelledNode(rng *rand.Rand, name string) *corev1.Node {
	w := st.MakeNode().Name(name)
	if rng.IntN(5) > 0 {
		w = w.Zone(fmt.Sprint("z", rng.IntN(3)))
	}
	if rng.IntN(2) == 0 {
		w = w.Label("tier", fmt.Sprint("t", rng.IntN(2)))
	}
	if rng.IntN(2) == 0 {
		w = w.Label("gen", fmt.Sprint(rng.IntN(9)))
	}
	return w.Obj()
}

func randomNodeConstrainedPod(rng *rand.Rand, i int) *corev1.Pod {
	w := st.MakePod().Name(fmt.Sprint("p", i))
	if rng.IntN(2) == 0 {
		w = w.NodeSelector(corev1.LabelTopologyZone, fmt.Sprint("z", rng.IntN(3)))
	}
	if rng.IntN(3) == 0 {
		w = w.NodeSelector("tier", fmt.Sprint("t", rng.IntN(2)))
	}
	ops := []corev1.NodeSelectorOperator{corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn,
		corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist, corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt}
	for range rng.IntN(3) {
		switch op := ops[rng.IntN(len(ops))]; op {
		case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
			w = w.NodeAffinity("tier", op)
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			w = w.NodeAffinity("gen", op, fmt.Sprint(rng.IntN(9)))
		default:
			w = w.NodeAffinity(corev1.LabelTopologyZone, op, fmt.Sprint("z", rng.IntN(3)), fmt.Sprint("z", rng.IntN(3)))
		}
	}
	p := w.Obj()
	if rng.IntN(5) == 0 {
		// A term on the node's name (DaemonSet pods).
		a := p.Spec.Affinity
		if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}}}
		}
		ns := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		ns.NodeSelectorTerms[0].MatchFields = []corev1.NodeSelectorRequirement{{Key: "metadata.name",
			Operator: corev1.NodeSelectorOpIn, Values: []string{fmt.Sprint("n", rng.IntN(10))}}}
	}
	return p
}
