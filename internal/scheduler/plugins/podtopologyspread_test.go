package plugins_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func ptr[T any](v T) *T { return &v }

func web(name, node string) *corev1.Pod {
	return st.MakePod().Name(name).Node(node).Label("app", "web").Obj()
}

func TestPodTopologySpreadFilter(t *testing.T) {
	zone := corev1.LabelTopologyZone
	host := corev1.LabelHostname
	zonedNodes := []*corev1.Node{
		st.MakeNode().Name("a1").Zone("a").Obj(), st.MakeNode().Name("a2").Zone("a").Obj(),
		st.MakeNode().Name("b1").Zone("b").Obj(), st.MakeNode().Name("nolabel").Obj(),
	}
	const (
		reason  = "node(s) didn't match pod topology spread constraints"
		missing = "node(s) didn't match pod topology spread constraints (missing required label)"
	)
	minDomains := func(n int32) *corev1.Pod {
		return st.MakePod().Label("app", "web").SpreadConstraint(corev1.TopologySpreadConstraint{
			MaxSkew: 1, TopologyKey: host, WhenUnsatisfiable: corev1.DoNotSchedule, MinDomains: &n,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}).Obj()
	}
	tests := []struct {
		name     string
		nodes    []*corev1.Node
		existing []*corev1.Pod
		pod      *corev1.Pod
		node     string
		wantCode framework.Code
		wantWhy  []string
	}{
		{name: "skew too large in the crowded zone", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2")},
			pod: st.MakePod().Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a1",
			wantCode: framework.Unschedulable, wantWhy: []string{reason}},
		{name: "the empty zone is fine", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2")},
			pod: st.MakePod().Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "b1",
			wantCode: framework.Success},
		{name: "maxSkew 2 allows it", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1")},
			pod: st.MakePod().Label("app", "web").Spread(2, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a2",
			wantCode: framework.Success},
		{name: "node without the topology label", nodes: zonedNodes,
			pod: st.MakePod().Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "nolabel",
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{missing}},
		{name: "a pod its selector does not match adds nothing", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1")},
			pod: st.MakePod().Label("app", "other").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a1",
			wantCode: framework.Success},
		{name: "other namespaces do not count", nodes: zonedNodes,
			existing: []*corev1.Pod{st.MakePod().Name("x").Namespace("other").Node("a1").Label("app", "web").Obj()},
			pod:      st.MakePod().Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a1",
			wantCode: framework.Success},
		{name: "terminating pods do not count", nodes: zonedNodes,
			existing: []*corev1.Pod{st.MakePod().Name("x").Node("a1").Label("app", "web").Terminating().Obj()},
			pod:      st.MakePod().Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a1",
			wantCode: framework.Success},
		{name: "ScheduleAnyway does not filter", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2")},
			pod: st.MakePod().Label("app", "web").Spread(1, zone, corev1.ScheduleAnyway, "app", "web").Obj(), node: "a1",
			wantCode: framework.Success},
		{name: "nodes the pod's node selector excludes are not domains", nodes: zonedNodes, existing: []*corev1.Pod{web("w1", "a1")},
			pod: st.MakePod().Label("app", "web").NodeSelector(zone, "a").Spread(1, zone, corev1.DoNotSchedule, "app", "web").Obj(), node: "a2",
			wantCode: framework.Success},
		{name: "enough domains: minimum is the real one", nodes: zonedNodes[:3],
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")}, pod: minDomains(3), node: "a1",
			wantCode: framework.Success},
		{name: "fewer domains than minDomains: minimum is 0", nodes: zonedNodes[:3],
			existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")}, pod: minDomains(5), node: "a1",
			wantCode: framework.Unschedulable, wantWhy: []string{reason}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.existing, tc.nodes, spec(plugins.PodTopologySpreadName))
			wantStatus(t, e.filter(t, tc.pod, tc.node), tc.wantCode, tc.wantWhy...)
		})
	}
}

func TestPodTopologySpreadDefaultConstraints(t *testing.T) {
	nodes := []*corev1.Node{st.MakeNode().Name("a1").Zone("a").Obj(), st.MakeNode().Name("b1").Zone("b").Obj()}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	existing := []*corev1.Pod{st.MakePod().Name("w1").Node("a1").Label("app", "web").OwnedBy("ReplicaSet", "rs").Obj()}
	pod := st.MakePod().Label("app", "web").OwnedBy("ReplicaSet", "rs").Obj()
	list := plugins.PodTopologySpreadArgs{DefaultingType: plugins.ListDefaulting, DefaultConstraints: []corev1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule}}}
	t.Run("list defaults filter with the controller's selector", func(t *testing.T) {
		e := newEnv(t, existing, nodes, specArgs(plugins.PodTopologySpreadName, list), rs)
		wantStatus(t, e.filter(t, pod, "a1"), framework.Unschedulable, plugins.ErrReasonTopologySpread)
		wantStatus(t, e.filter(t, pod, "b1"), framework.Success)
	})
	t.Run("pods without a controller or service get no defaults", func(t *testing.T) {
		e := newEnv(t, existing, nodes, specArgs(plugins.PodTopologySpreadName, list), rs)
		wantStatus(t, e.filter(t, st.MakePod().Label("app", "web").Obj(), "a1"), framework.Success)
	})
	t.Run("system defaults only score", func(t *testing.T) {
		e := newEnv(t, existing, nodes, spec(plugins.PodTopologySpreadName), rs)
		wantStatus(t, e.filter(t, pod, "a1"), framework.Success)
		got := e.scores(t, pod)
		if got["b1"] <= got["a1"] {
			t.Errorf("scores = %v, want the empty zone higher", got)
		}
	})
	t.Run("defaults with a selector are refused", func(t *testing.T) {
		bad := list
		bad.DefaultConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "k", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{}}}
		if _, err := plugins.NewPodTopologySpread(mustJSON(bad), nil); err == nil {
			t.Error("want error")
		}
	})
}

func TestPodTopologySpreadScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("a1").Zone("a").Obj(), st.MakeNode().Name("a2").Zone("a").Obj(), st.MakeNode().Name("b1").Zone("b").Obj(),
	}
	tests := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]int64
	}{
		{name: "zone with fewer matching pods scores higher", existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a1")},
			pod:  st.MakePod().Label("app", "web").Spread(1, corev1.LabelTopologyZone, corev1.ScheduleAnyway, "app", "web").Obj(),
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 100}},
		{name: "hostname spreading", existing: []*corev1.Pod{web("w1", "a1"), web("w2", "a1"), web("w3", "a2")},
			pod:  st.MakePod().Label("app", "web").Spread(1, corev1.LabelHostname, corev1.ScheduleAnyway, "app", "web").Obj(),
			want: map[string]int64{"a1": 0, "a2": 33, "b1": 100}},
		{name: "no matching pods: all equal", pod: st.MakePod().Spread(1, corev1.LabelTopologyZone, corev1.ScheduleAnyway, "app", "web").Obj(),
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.existing, nodes, spec(plugins.PodTopologySpreadName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}
