package plugins_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// postFilter filters pod on every node and runs PostFilter with the
// statuses, like a failed scheduling cycle.
func (e *env) postFilter(t *testing.T, pod *corev1.Pod) (*framework.PostFilterResult, *framework.Status) {
	t.Helper()
	ctx := t.Context()
	state := framework.NewCycleState()
	statuses := framework.NodeToStatus{}
	if _, s := e.fwk.RunPreFilterPlugins(ctx, state, pod); !s.IsSuccess() {
		for _, ni := range e.snap.List() {
			statuses[ni.Node().Name] = s
		}
	} else {
		for _, ni := range e.snap.List() {
			if s := e.fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni); !s.IsSuccess() {
				statuses[ni.Node().Name] = s
			}
		}
	}
	return e.fwk.RunPostFilterPlugins(ctx, state, pod, statuses)
}

// deleted lists the pods deleted through the API.
func (e *env) deleted() []string {
	var out []string
	for _, a := range e.client.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "pods" {
			out = append(out, d.GetName())
		}
	}
	sort.Strings(out)
	return out
}

func TestDefaultPreemption(t *testing.T) {
	node := func(name string) *corev1.Node {
		return st.MakeNode().Name(name).Capacity("cpu", "2", "memory", "4Gi", "pods", "10").Obj()
	}
	nodes := []*corev1.Node{node("n1"), node("n2")}
	pod := func(name, n string, prio int32, cpu string) *corev1.Pod {
		return st.MakePod().Name(name).Node(n).Priority(prio).Req("cpu", cpu).Created(time.Unix(0, 0)).Obj()
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "pdb", Namespace: "default"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0}}
	preemptor := st.MakePod().Name("preemptor").Priority(10).Req("cpu", "2").Obj()
	tests := []struct {
		name        string
		nodes       []*corev1.Node
		existing    []*corev1.Pod
		objs        []runtime.Object
		pod         *corev1.Pod
		wantNode    string
		wantDeleted []string
		wantMsg     string
	}{
		{name: "lowest-priority victims win", existing: []*corev1.Pod{pod("lo1", "n1", 1, "1"), pod("lo2", "n1", 1, "1"), pod("mid", "n2", 5, "2")},
			pod: preemptor, wantNode: "n1", wantDeleted: []string{"lo1", "lo2"}},
		{name: "fewer victims at equal priority", existing: []*corev1.Pod{pod("a", "n1", 1, "1"), pod("b", "n1", 1, "1"), pod("c", "n2", 1, "2")},
			pod: preemptor, wantNode: "n2", wantDeleted: []string{"c"}},
		{name: "higher-priority pods are reprieved", nodes: nodes[:1], existing: []*corev1.Pod{pod("keep", "n1", 5, "1"), pod("go", "n1", 1, "1")},
			pod: st.MakePod().Name("p").Priority(10).Req("cpu", "1").Obj(), wantNode: "n1", wantDeleted: []string{"go"}},
		{name: "PDB-protected pods are spared when possible",
			existing: []*corev1.Pod{
				st.MakePod().Name("guarded").Node("n1").Label("app", "guarded").Priority(1).Req("cpu", "2").Obj(),
				st.MakePod().Name("free").Node("n2").Label("app", "free").Priority(1).Req("cpu", "2").Obj()},
			objs: []runtime.Object{pdb}, pod: preemptor, wantNode: "n2", wantDeleted: []string{"free"}},
		{name: "PDB is violated when nothing else helps", nodes: nodes[:1],
			existing: []*corev1.Pod{st.MakePod().Name("guarded").Node("n1").Label("app", "guarded").Priority(1).Req("cpu", "2").Obj()},
			objs:     []runtime.Object{pdb}, pod: preemptor, wantNode: "n1", wantDeleted: []string{"guarded"}},
		{name: "preemptionPolicy Never", existing: []*corev1.Pod{pod("lo", "n1", 1, "2"), pod("lo2", "n2", 1, "2")},
			pod:     st.MakePod().Name("p").Priority(10).PreemptNever().Req("cpu", "2").Obj(),
			wantMsg: "preemption: not eligible due to preemptionPolicy=Never."},
		{name: "no lower-priority pods", existing: []*corev1.Pod{pod("hi", "n1", 20, "2"), pod("hi2", "n2", 20, "2")}, pod: preemptor,
			wantMsg: "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."},
		{name: "preemption cannot help an oversized pod", existing: []*corev1.Pod{pod("lo", "n1", 1, "2")},
			pod:     st.MakePod().Name("p").Priority(10).Req("cpu", "3").Obj(),
			wantMsg: "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
		{name: "terminating victim on the nominated node: wait", nodes: nodes[:1],
			existing: []*corev1.Pod{st.MakePod().Name("going").Node("n1").Priority(1).Req("cpu", "2").Terminating().Obj()},
			pod:      st.MakePod().Name("p").Priority(10).Req("cpu", "2").NominatedNode("n1").Obj(),
			wantMsg:  "preemption: not eligible due to a terminating pod on the nominated node."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := nodes
			if tc.nodes != nil {
				ns = tc.nodes
			}
			e := newEnv(t, tc.existing, ns, []framework.PluginSpec{{Name: plugins.NodeResourcesFitName}, {Name: plugins.DefaultPreemptionName}}, tc.objs...)
			res, s := e.postFilter(t, tc.pod)
			if tc.wantMsg != "" {
				if s.IsSuccess() || s.Message() != tc.wantMsg {
					t.Fatalf("status = %v, want %q", s, tc.wantMsg)
				}
				if len(e.deleted()) > 0 {
					t.Errorf("deleted %v, want none", e.deleted())
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("status = %v", s)
			}
			if res == nil || res.NominatedNodeName != tc.wantNode {
				t.Errorf("nominated = %+v, want %s", res, tc.wantNode)
			}
			if got := e.deleted(); !equalStrings(got, tc.wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, tc.wantDeleted)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPreemptionMarksVictims checks the DisruptionTarget condition.
func TestPreemptionMarksVictims(t *testing.T) {
	nodes := []*corev1.Node{st.MakeNode().Name("n1").Capacity("cpu", "1", "pods", "10").Obj()}
	victim := st.MakePod().Name("v").Node("n1").Priority(1).Req("cpu", "1").Obj()
	e := newEnv(t, []*corev1.Pod{victim}, nodes, []framework.PluginSpec{{Name: plugins.NodeResourcesFitName}, {Name: plugins.DefaultPreemptionName}})
	if _, s := e.postFilter(t, st.MakePod().Name("p").Priority(5).Req("cpu", "1").Obj()); !s.IsSuccess() {
		t.Fatal(s)
	}
	var patched bool
	for _, a := range e.client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok && a.GetSubresource() == "status" && p.GetName() == "v" {
			patched = true
			if want := `"type":"DisruptionTarget"`; !strings.Contains(string(p.GetPatch()), want) {
				t.Errorf("patch %s lacks %s", p.GetPatch(), want)
			}
		}
	}
	if !patched {
		t.Error("victim status not patched")
	}
}
