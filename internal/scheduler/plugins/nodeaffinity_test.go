package plugins_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func TestNodeAffinityFilter(t *testing.T) {
	node := st.MakeNode().Name("n").Label("zone", "a").Label("gen", "5").Obj()
	const reason = "node(s) didn't match Pod's node affinity/selector"
	nameIs := func(name string) *corev1.Pod {
		p := st.MakePod().Obj()
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{name}}}}}}}}
		return p
	}
	emptyTerm := st.MakePod().Obj()
	emptyTerm.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		fits bool
	}{
		{name: "no constraints", pod: st.MakePod().Obj(), fits: true},
		{name: "nodeSelector matches", pod: st.MakePod().NodeSelector("zone", "a").Obj(), fits: true},
		{name: "nodeSelector mismatch", pod: st.MakePod().NodeSelector("zone", "b").Obj()},
		{name: "In", pod: st.MakePod().NodeAffinity("zone", corev1.NodeSelectorOpIn, "a", "b").Obj(), fits: true},
		{name: "NotIn", pod: st.MakePod().NodeAffinity("zone", corev1.NodeSelectorOpNotIn, "a").Obj()},
		{name: "Exists", pod: st.MakePod().NodeAffinity("gen", corev1.NodeSelectorOpExists).Obj(), fits: true},
		{name: "DoesNotExist", pod: st.MakePod().NodeAffinity("gen", corev1.NodeSelectorOpDoesNotExist).Obj()},
		{name: "Gt", pod: st.MakePod().NodeAffinity("gen", corev1.NodeSelectorOpGt, "4").Obj(), fits: true},
		{name: "Lt", pod: st.MakePod().NodeAffinity("gen", corev1.NodeSelectorOpLt, "4").Obj()},
		{name: "terms are ORed", pod: st.MakePod().NodeAffinity("zone", corev1.NodeSelectorOpIn, "b").
			NodeAffinity("zone", corev1.NodeSelectorOpIn, "a").Obj(), fits: true},
		{name: "selector and affinity are ANDed", pod: st.MakePod().NodeSelector("zone", "b").
			NodeAffinity("zone", corev1.NodeSelectorOpIn, "a").Obj()},
		{name: "matchFields metadata.name", pod: nameIs("n"), fits: true},
		{name: "matchFields other name", pod: nameIs("m")},
		{name: "empty term matches nothing", pod: emptyTerm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, []*corev1.Node{node}, spec(plugins.NodeAffinityName))
			if tc.fits {
				wantStatus(t, e.filter(t, tc.pod, "n"), framework.Success)
			} else {
				wantStatus(t, e.filter(t, tc.pod, "n"), framework.UnschedulableAndUnresolvable, reason)
			}
		})
	}
}

func TestNodeAffinityScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("a").Label("zone", "a").Obj(),
		st.MakeNode().Name("b").Label("zone", "b").Obj(),
		st.MakeNode().Name("c").Label("zone", "c").Obj(),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		{name: "weights normalized to the best node", pod: st.MakePod().
			PreferredNodeAffinity(10, "zone", corev1.NodeSelectorOpIn, "a").
			PreferredNodeAffinity(5, "zone", corev1.NodeSelectorOpIn, "b").Obj(),
			want: map[string]int64{"a": 100, "b": 50, "c": 0}},
		{name: "matching terms add up", pod: st.MakePod().
			PreferredNodeAffinity(10, "zone", corev1.NodeSelectorOpIn, "a").
			PreferredNodeAffinity(10, "zone", corev1.NodeSelectorOpIn, "a", "b").Obj(),
			want: map[string]int64{"a": 100, "b": 50, "c": 0}},
		{name: "no preferences: all zero", pod: st.MakePod().Obj(), want: map[string]int64{"a": 0, "b": 0, "c": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nodes, spec(plugins.NodeAffinityName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}
