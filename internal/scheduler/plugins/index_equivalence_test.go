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

// TestIndexesMatchFullScans checks, on random clusters, that the
// snapshot-index fast paths of InterPodAffinity and PodTopologySpread
// decide and score exactly like full scans.
func TestIndexesMatchFullScans(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var nodes []*corev1.Node
		for i := range 3 + rng.IntN(12) {
			w := st.MakeNode().Name(fmt.Sprint("n", i))
			if rng.IntN(5) > 0 {
				w = w.Zone(fmt.Sprint("z", rng.IntN(3)))
			}
			nodes = append(nodes, w.Obj())
		}
		var pods []*corev1.Pod
		for i := range rng.IntN(60) {
			pods = append(pods, randomAffinityPod(rng, i, nodes[rng.IntN(len(nodes))].Name))
		}
		snap := framework.NewSnapshot(pods, nodes)
		fwk := snapshotFramework(t, snap)
		mk := func(scan bool) []framework.Plugin {
			ipa, _ := NewInterPodAffinity(nil, fwk)
			ipa.(*InterPodAffinity).scanAll = scan
			pts, _ := NewPodTopologySpread(nil, fwk)
			pts.(*PodTopologySpread).scanAll = scan
			return []framework.Plugin{ipa, pts}
		}
		indexed, scanned := mk(false), mk(true)
		for i := range 20 {
			pod := randomAffinityPod(rng, 1000+i, "")
			for k := range indexed {
				a, b := decide(ctx, indexed[k], pod, snap), decide(ctx, scanned[k], pod, snap)
				if a != b {
					t.Fatalf("seed %d pod %d %s: indexed %s\nscanned %s", seed, i, indexed[k].Name(), a, b)
				}
			}
		}
	}
}

// snapshotFramework is a framework (a binder only) over snap, the handle
// plugins under test are built with.
func snapshotFramework(t testing.TB, snap *framework.Snapshot) *framework.Framework {
	t.Helper()
	fwk, err := framework.New(framework.Profile{Plugins: []framework.PluginSpec{{Name: DefaultBinderName}}}, NewRegistry(),
		framework.Env{Snapshot: snap, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	return fwk
}

// decide renders PreFilter, Filter on every node and the scores.
func decide(ctx context.Context, p framework.Plugin, pod *corev1.Pod, snap *framework.Snapshot) string {
	state := framework.NewCycleState()
	out := ""
	pf := p.(framework.PreFilterPlugin)
	if _, s := pf.PreFilter(ctx, state, pod); !s.IsSuccess() {
		out += "prefilter " + s.String() + ";"
	} else {
		for _, ni := range snap.List() {
			out += ni.Node().Name + ":" + p.(framework.FilterPlugin).Filter(ctx, state, pod, ni).String() + ";"
		}
	}
	sp := p.(framework.ScorePlugin)
	if s := p.(framework.PreScorePlugin).PreScore(ctx, state, pod, snap.List()); !s.IsSuccess() {
		return out + " prescore " + s.String()
	}
	for _, ni := range snap.List() {
		v, _ := sp.Score(ctx, state, pod, ni)
		out += fmt.Sprintf(" %s=%d", ni.Node().Name, v)
	}
	return out
}

func randomAffinityPod(rng *rand.Rand, i int, node string) *corev1.Pod {
	app := func() string { return fmt.Sprint("a", rng.IntN(4)) }
	keys := []string{corev1.LabelHostname, corev1.LabelTopologyZone}
	w := st.RandomPod(rng, fmt.Sprint("p", i), node)
	if node == "" && rng.IntN(3) == 0 {
		// A node selector makes the spread count honour node affinity.
		w = w.NodeSelector(corev1.LabelTopologyZone, fmt.Sprint("z", rng.IntN(3)))
	}
	term := func() corev1.PodAffinityTerm {
		t := st.PodAffinityTerm(keys[rng.IntN(2)], "app", app())
		if rng.IntN(4) == 0 {
			t.LabelSelector.MatchLabels["tier"] = fmt.Sprint(rng.IntN(2))
		}
		if rng.IntN(5) == 0 {
			t.Namespaces = []string{"default", "other"}
		}
		return t
	}
	switch rng.IntN(7) {
	case 0:
		w = w.PodAntiAffinity(term())
	case 1:
		w = w.PodAffinity(term())
	case 2:
		w = w.PreferredPodAffinity(int32(1+rng.IntN(10)), term())
	case 3:
		w = w.PreferredPodAntiAffinity(int32(1+rng.IntN(10)), term())
	case 4:
		w = w.Spread(int32(1+rng.IntN(2)), keys[rng.IntN(2)], corev1.DoNotSchedule, "app", app())
	case 5:
		w = w.Spread(1, keys[rng.IntN(2)], corev1.ScheduleAnyway, "app", app())
	}
	return w.Obj()
}
