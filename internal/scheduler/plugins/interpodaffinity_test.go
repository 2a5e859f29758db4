package plugins_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func TestInterPodAffinityFilter(t *testing.T) {
	zone, host := corev1.LabelTopologyZone, corev1.LabelHostname
	nodes := []*corev1.Node{
		st.MakeNode().Name("a1").Zone("a").Obj(), st.MakeNode().Name("a2").Zone("a").Obj(),
		st.MakeNode().Name("b1").Zone("b").Obj(), st.MakeNode().Name("nozone").Obj(),
	}
	db := st.MakePod().Name("db").Node("a1").Label("app", "db").Obj()
	lonely := st.MakePod().Name("lonely").Node("b1").Label("app", "lonely").
		PodAntiAffinity(st.PodAffinityTerm(zone, "app", "web")).Obj()
	otherNS := st.PodAffinityTerm(zone, "app", "db")
	otherNS.Namespaces = []string{"other"}
	allNS := st.PodAffinityTerm(zone, "app", "db")
	allNS.NamespaceSelector = &metav1.LabelSelector{}
	const (
		U  = framework.Unschedulable
		UU = framework.UnschedulableAndUnresolvable
	)
	tests := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		node     string
		wantCode framework.Code
		wantWhy  string
	}{
		{name: "affinity: same zone as db", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAffinity(st.PodAffinityTerm(zone, "app", "db")).Obj(), node: "a2", wantCode: framework.Success},
		{name: "affinity: other zone", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAffinity(st.PodAffinityTerm(zone, "app", "db")).Obj(), node: "b1", wantCode: UU, wantWhy: plugins.ErrReasonAffinity},
		{name: "affinity: node without the topology key", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAffinity(st.PodAffinityTerm(zone, "app", "db")).Obj(), node: "nozone", wantCode: UU, wantWhy: plugins.ErrReasonAffinity},
		{name: "affinity: first pod of a self-selecting group", existing: nil,
			pod: st.MakePod().Label("app", "web").PodAffinity(st.PodAffinityTerm(zone, "app", "web")).Obj(), node: "b1", wantCode: framework.Success},
		{name: "affinity: nothing matches and the pod does not match itself",
			pod: st.MakePod().PodAffinity(st.PodAffinityTerm(zone, "app", "db")).Obj(), node: "b1", wantCode: UU, wantWhy: plugins.ErrReasonAffinity},
		{name: "affinity: term in another namespace", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAffinity(otherNS).Obj(), node: "a2", wantCode: UU, wantWhy: plugins.ErrReasonAffinity},
		{name: "affinity: namespace selector for all namespaces", existing: []*corev1.Pod{db},
			pod: st.MakePod().Namespace("other").PodAffinity(allNS).Obj(), node: "a2", wantCode: framework.Success},
		{name: "anti-affinity: same host as db", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAntiAffinity(st.PodAffinityTerm(host, "app", "db")).Obj(), node: "a1", wantCode: U, wantWhy: plugins.ErrReasonAntiAffinity},
		{name: "anti-affinity: another host", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAntiAffinity(st.PodAffinityTerm(host, "app", "db")).Obj(), node: "a2", wantCode: framework.Success},
		{name: "anti-affinity: zone", existing: []*corev1.Pod{db},
			pod: st.MakePod().PodAntiAffinity(st.PodAffinityTerm(zone, "app", "db")).Obj(), node: "a2", wantCode: U, wantWhy: plugins.ErrReasonAntiAffinity},
		{name: "existing pod's anti-affinity rejects the pod", existing: []*corev1.Pod{lonely},
			pod: st.MakePod().Label("app", "web").Obj(), node: "b1", wantCode: U, wantWhy: plugins.ErrReasonExistingAntiAffinity},
		{name: "existing pod's anti-affinity elsewhere", existing: []*corev1.Pod{lonely},
			pod: st.MakePod().Label("app", "web").Obj(), node: "a1", wantCode: framework.Success},
		{name: "existing pod's anti-affinity does not select the pod", existing: []*corev1.Pod{lonely},
			pod: st.MakePod().Label("app", "api").Obj(), node: "b1", wantCode: framework.Success},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.existing, nodes, spec(plugins.InterPodAffinityName))
			var why []string
			if tc.wantWhy != "" {
				why = []string{tc.wantWhy}
			}
			wantStatus(t, e.filter(t, tc.pod, tc.node), tc.wantCode, why...)
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	zone, host := corev1.LabelTopologyZone, corev1.LabelHostname
	nodes := []*corev1.Node{
		st.MakeNode().Name("a1").Zone("a").Obj(), st.MakeNode().Name("a2").Zone("a").Obj(), st.MakeNode().Name("b1").Zone("b").Obj(),
	}
	db := st.MakePod().Name("db").Node("a1").Label("app", "db").Obj()
	tests := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]int64
	}{
		{name: "preferred affinity", existing: []*corev1.Pod{db},
			pod:  st.MakePod().PreferredPodAffinity(10, st.PodAffinityTerm(zone, "app", "db")).Obj(),
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 0}},
		{name: "preferred anti-affinity", existing: []*corev1.Pod{db},
			pod:  st.MakePod().PreferredPodAntiAffinity(10, st.PodAffinityTerm(host, "app", "db")).Obj(),
			want: map[string]int64{"a1": 0, "a2": 100, "b1": 100}},
		{name: "existing pod's required affinity attracts (hard weight)",
			existing: []*corev1.Pod{st.MakePod().Name("e").Node("b1").Label("app", "x").PodAffinity(st.PodAffinityTerm(zone, "app", "web")).Obj()},
			pod:      st.MakePod().Label("app", "web").Obj(),
			want:     map[string]int64{"a1": 0, "a2": 0, "b1": 100}},
		{name: "existing pod's preferred anti-affinity repels",
			existing: []*corev1.Pod{st.MakePod().Name("e").Node("b1").Label("app", "x").PreferredPodAntiAffinity(5, st.PodAffinityTerm(zone, "app", "web")).Obj()},
			pod:      st.MakePod().Label("app", "web").Obj(),
			want:     map[string]int64{"a1": 100, "a2": 100, "b1": 0}},
		{name: "no affinity anywhere", existing: []*corev1.Pod{db}, pod: st.MakePod().Obj(),
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.existing, nodes, spec(plugins.InterPodAffinityName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}

// TestInterPodAffinityPreemptionState checks the AddPod/RemovePod
// extensions: removing the pod that repels makes the node fit.
func TestInterPodAffinityPreemptionState(t *testing.T) {
	nodes := []*corev1.Node{st.MakeNode().Name("n").Obj()}
	db := st.MakePod().Name("db").Node("n").Label("app", "db").Obj()
	e := newEnv(t, []*corev1.Pod{db}, nodes, spec(plugins.InterPodAffinityName))
	pod := st.MakePod().PodAntiAffinity(st.PodAffinityTerm(corev1.LabelHostname, "app", "db")).Obj()
	ctx := t.Context()
	state := framework.NewCycleState()
	if _, s := e.fwk.RunPreFilterPlugins(ctx, state, pod); !s.IsSuccess() {
		t.Fatal(s)
	}
	ni, _ := e.snap.Get("n")
	wantStatus(t, e.fwk.RunFilterPlugins(ctx, state, pod, ni), framework.Unschedulable, plugins.ErrReasonAntiAffinity)
	clone, cs := ni.Clone(), state.Clone()
	dbInfo := framework.NewPodInfo(db)
	if err := clone.RemovePod(db); err != nil {
		t.Fatal(err)
	}
	if s := e.fwk.RunPreFilterExtensionRemovePod(ctx, cs, pod, dbInfo, clone); !s.IsSuccess() {
		t.Fatal(s)
	}
	wantStatus(t, e.fwk.RunFilterPlugins(ctx, cs, pod, clone), framework.Success)
	// The original state is untouched.
	wantStatus(t, e.fwk.RunFilterPlugins(ctx, state, pod, ni), framework.Unschedulable, plugins.ErrReasonAntiAffinity)
}
