package framework

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestIndexReplaceNodeMatchesRebuild checks that the snapshot index, kept
// up to date node by node as pods come, go and change (only the pods that
// differ are counted again), always equals an index built from scratch.
func TestIndexReplaceNodeMatchesRebuild(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		snap := &Snapshot{}
		snap.Reset()
		nodes := map[string]*corev1.Node{}
		pods := map[string][]*PodInfo{}
		for i := range 6 {
			n := st.MakeNode().Name(fmt.Sprint("n", i)).Zone(fmt.Sprint("z", i%3)).Obj()
			nodes[n.Name] = n
		}
		refresh := func(name string) {
			if nodes[name] == nil {
				snap.ReplaceNode(name, nil)
				return
			}
			ni := NewNodeInfo()
			ni.SetNode(nodes[name])
			for _, pi := range pods[name] {
				ni.AddPodInfo(pi)
			}
			snap.ReplaceNode(name, ni)
		}
		for name := range nodes {
			refresh(name)
		}
		for step := range 200 {
			name := fmt.Sprint("n", rng.IntN(6))
			switch op := rng.IntN(10); {
			case op < 5: // a pod comes
				pods[name] = append(pods[name], NewPodInfo(randomIndexedPod(rng, step, name)))
			case op < 7 && len(pods[name]) > 0: // a pod goes
				i := rng.IntN(len(pods[name]))
				pods[name] = append(pods[name][:i:i], pods[name][i+1:]...)
			case op < 9 && len(pods[name]) > 0: // a pod is seen again (bound, relabelled, terminating)
				i := rng.IntN(len(pods[name]))
				p := randomIndexedPod(rng, step, name)
				p.UID = pods[name][i].Pod.UID
				pods[name] = append(append(pods[name][:i:i], NewPodInfo(p)), pods[name][i+1:]...)
			default: // the node goes or comes back
				if nodes[name] != nil {
					nodes[name] = nil
				} else {
					nodes[name] = st.MakeNode().Name(name).Zone("z9").Obj()
				}
			}
			refresh(name)
			fresh := newSnapshotIndex()
			for _, ni := range snap.NodeInfoMap {
				fresh.addNode(ni)
			}
			got := snap.index
			if !reflect.DeepEqual(got.podsByLabel, fresh.podsByLabel) || !reflect.DeepEqual(got.antiTerms, fresh.antiTerms) ||
				!reflect.DeepEqual(got.otherAntiTerms, fresh.otherAntiTerms) {
				t.Fatalf("seed %d step %d: incremental index differs from a rebuild:\nlabels %v\nwant   %v\nanti %v\nwant %v\nother %v\nwant  %v",
					seed, step, got.podsByLabel, fresh.podsByLabel, got.antiTerms, fresh.antiTerms, got.otherAntiTerms, fresh.otherAntiTerms)
			}
		}
	}
}

func randomIndexedPod(rng *rand.Rand, i int, node string) *corev1.Pod {
	w := st.RandomPod(rng, fmt.Sprint("p", i), node)
	switch rng.IntN(5) {
	case 0:
		w = w.PodAntiAffinity(st.PodAffinityTerm(corev1.LabelHostname, "app", fmt.Sprint("a", rng.IntN(3))))
	case 1: // a selector the index cannot file under one label
		w = w.PodAntiAffinity(corev1.PodAffinityTerm{TopologyKey: corev1.LabelHostname, LabelSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}})
	}
	return w.UID(fmt.Sprint("uid-", i)).Obj()
}
