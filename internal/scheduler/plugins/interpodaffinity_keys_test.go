package plugins

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestExistingAntiAffinityUnderAnAddedKey: InterPodAffinity's Filter
// looks up only the topology keys existing pods' anti-affinity uses; a
// pod added in a "what if" (nominated pod, preemption) whose term uses
// another key must still reject the nodes of its domain.
func TestExistingAntiAffinityUnderAnAddedKey(t *testing.T) {
	ctx := context.Background()
	nodes := []*corev1.Node{
		st.MakeNode().Name("n1").Zone("z1").Obj(),
		st.MakeNode().Name("n2").Zone("z2").Obj(),
		st.MakeNode().Name("n3").Zone("z2").Obj(),
	}
	// A pod on n1 keeps pods labelled app=web off its host.
	byHost := st.MakePod().Name("host-guard").Node("n1").
		PodAntiAffinity(st.PodAffinityTerm(corev1.LabelHostname, "app", "web")).Obj()
	snap := framework.NewSnapshot([]*corev1.Pod{byHost}, nodes)
	p, err := NewInterPodAffinity(nil, snapshotFramework(t, snap))
	if err != nil {
		t.Fatal(err)
	}
	ipa := p.(*InterPodAffinity)
	pod := st.MakePod().Name("web").Label("app", "web").Obj()
	state := framework.NewCycleState()
	if _, s := ipa.PreFilter(ctx, state, pod); !s.IsSuccess() {
		t.Fatalf("PreFilter: %v", s)
	}
	filter := func(state *framework.CycleState) map[string]string {
		got := map[string]string{}
		for _, ni := range snap.List() {
			got[ni.Name()] = ipa.Filter(ctx, state, pod, ni).String()
		}
		return got
	}
	ok, rejected := "Success", "Unschedulable: "+ErrReasonExistingAntiAffinity
	equal(t, "before", filter(state), map[string]string{"n1": rejected, "n2": ok, "n3": ok})

	// What if a pod keeping app=web out of its zone ran on n2?
	byZone := framework.NewPodInfo(st.MakePod().Name("zone-guard").Node("n2").
		PodAntiAffinity(st.PodAffinityTerm(corev1.LabelTopologyZone, "app", "web")).Obj())
	n2, _ := snap.Get("n2")
	whatIf := state.Clone()
	if s := ipa.AddPod(ctx, whatIf, pod, byZone, n2); !s.IsSuccess() {
		t.Fatalf("AddPod: %v", s)
	}
	equal(t, "with the zone guard", filter(whatIf), map[string]string{"n1": rejected, "n2": rejected, "n3": rejected})
	equal(t, "the original state", filter(state), map[string]string{"n1": rejected, "n2": ok, "n3": ok})

	if s := ipa.RemovePod(ctx, whatIf, pod, byZone, n2); !s.IsSuccess() {
		t.Fatalf("RemovePod: %v", s)
	}
	equal(t, "zone guard removed again", filter(whatIf), map[string]string{"n1": rejected, "n2": ok, "n3": ok})
}

func equal(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: node %s: %q, want %q", what, k, got[k], w)
		}
	}
}
