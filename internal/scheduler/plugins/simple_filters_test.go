package plugins_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func TestNodeName(t *testing.T) {
	nodes := []*corev1.Node{st.MakeNode().Name("n1").Obj(), st.MakeNode().Name("n2").Obj()}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		node     string
		wantCode framework.Code
		wantWhy  []string
	}{
		{name: "no node name fits anywhere", pod: st.MakePod().Obj(), node: "n1", wantCode: framework.Success},
		{name: "named node fits", pod: st.MakePod().Node("n2").Obj(), node: "n2", wantCode: framework.Success},
		{name: "other node rejected", pod: st.MakePod().Node("n2").Obj(), node: "n1",
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{plugins.ErrReasonNodeName}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nodes, spec(plugins.NodeNameName))
			wantStatus(t, e.filter(t, tc.pod, tc.node), tc.wantCode, tc.wantWhy...)
		})
	}
}

func TestNodeUnschedulable(t *testing.T) {
	tests := []struct {
		name     string
		node     *corev1.Node
		pod      *corev1.Pod
		wantCode framework.Code
		wantWhy  []string
	}{
		{name: "schedulable node", node: st.MakeNode().Name("n").Obj(), pod: st.MakePod().Obj(), wantCode: framework.Success},
		{name: "cordoned node", node: st.MakeNode().Name("n").Unschedulable().Obj(), pod: st.MakePod().Obj(),
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{"node(s) were unschedulable"}},
		{name: "cordoned node, pod tolerates", node: st.MakeNode().Name("n").Unschedulable().Obj(),
			pod:      st.MakePod().Toleration(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule).Obj(),
			wantCode: framework.Success},
		{name: "cordoned node, toleration of another effect", node: st.MakeNode().Name("n").Unschedulable().Obj(),
			pod:      st.MakePod().Toleration(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoExecute).Obj(),
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{"node(s) were unschedulable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, []*corev1.Node{tc.node}, spec(plugins.NodeUnschedulableName))
			wantStatus(t, e.filter(t, tc.pod, "n"), tc.wantCode, tc.wantWhy...)
		})
	}
}

func TestTaintTolerationFilter(t *testing.T) {
	const reason = "node(s) had untolerated taint {k: v}"
	tests := []struct {
		name     string
		node     *corev1.Node
		pod      *corev1.Pod
		wantCode framework.Code
		wantWhy  []string
	}{
		{name: "no taints", node: st.MakeNode().Name("n").Obj(), pod: st.MakePod().Obj(), wantCode: framework.Success},
		{name: "untolerated NoSchedule", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod: st.MakePod().Obj(), wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{reason}},
		{name: "untolerated NoExecute", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoExecute).Obj(),
			pod: st.MakePod().Obj(), wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{reason}},
		{name: "PreferNoSchedule does not filter", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectPreferNoSchedule).Obj(),
			pod: st.MakePod().Obj(), wantCode: framework.Success},
		{name: "tolerated by key and value", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod: st.MakePod().Toleration("k", "v", corev1.TaintEffectNoSchedule).Obj(), wantCode: framework.Success},
		{name: "tolerated by Exists on every key", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod: st.MakePod().Toleration("", "", "").Obj(), wantCode: framework.Success},
		{name: "wrong value", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod:      st.MakePod().Toleration("k", "other", corev1.TaintEffectNoSchedule).Obj(),
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{reason}},
		{name: "wrong effect", node: st.MakeNode().Name("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod:      st.MakePod().Toleration("k", "v", corev1.TaintEffectNoExecute).Obj(),
			wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{reason}},
		{name: "first untolerated taint is named", node: st.MakeNode().Name("n").Taint("a", "1", corev1.TaintEffectNoSchedule).
			Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
			pod: st.MakePod().Toleration("a", "1", "").Obj(), wantCode: framework.UnschedulableAndUnresolvable, wantWhy: []string{reason}},
		{name: "not-ready taint", node: st.MakeNode().Name("n").Taint(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoSchedule).Obj(),
			pod: st.MakePod().Obj(), wantCode: framework.UnschedulableAndUnresolvable,
			wantWhy: []string{"node(s) had untolerated taint {node.kubernetes.io/not-ready: }"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, []*corev1.Node{tc.node}, spec(plugins.TaintTolerationName))
			wantStatus(t, e.filter(t, tc.pod, "n"), tc.wantCode, tc.wantWhy...)
		})
	}
}

func TestTaintTolerationScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("two").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Taint("b", "", corev1.TaintEffectPreferNoSchedule).Obj(),
		st.MakeNode().Name("one").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Obj(),
		st.MakeNode().Name("none").Obj(),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		{name: "fewer untolerated taints score higher", pod: st.MakePod().Obj(),
			want: map[string]int64{"two": 0, "one": 50, "none": 100}},
		{name: "tolerated taints do not count", pod: st.MakePod().Toleration("a", "", corev1.TaintEffectPreferNoSchedule).Obj(),
			want: map[string]int64{"two": 0, "one": 100, "none": 100}},
		{name: "everything tolerated", pod: st.MakePod().Toleration("", "", "").Obj(),
			want: map[string]int64{"two": 100, "one": 100, "none": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nodes, spec(plugins.TaintTolerationName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}

func TestNodePorts(t *testing.T) {
	node := st.MakeNode().Name("n").Obj()
	existing := []*corev1.Pod{
		st.MakePod().Name("any").Node("n").HostPort("", corev1.ProtocolTCP, 8080).Obj(),
		st.MakePod().Name("ip").Node("n").HostPort("10.0.0.1", corev1.ProtocolTCP, 9090).Obj(),
	}
	const reason = "node(s) didn't have free ports for the requested pod ports"
	tests := []struct {
		name     string
		pod      *corev1.Pod
		wantCode framework.Code
	}{
		{name: "no host ports", pod: st.MakePod().Obj(), wantCode: framework.Success},
		{name: "same port and protocol", pod: st.MakePod().HostPort("", "", 8080).Obj(), wantCode: framework.Unschedulable},
		{name: "same port on a specific IP vs wildcard", pod: st.MakePod().HostPort("10.0.0.2", corev1.ProtocolTCP, 8080).Obj(), wantCode: framework.Unschedulable},
		{name: "other protocol", pod: st.MakePod().HostPort("", corev1.ProtocolUDP, 8080).Obj(), wantCode: framework.Success},
		{name: "other port", pod: st.MakePod().HostPort("", corev1.ProtocolTCP, 8081).Obj(), wantCode: framework.Success},
		{name: "other IP", pod: st.MakePod().HostPort("10.0.0.2", corev1.ProtocolTCP, 9090).Obj(), wantCode: framework.Success},
		{name: "wildcard vs used IP", pod: st.MakePod().HostPort("0.0.0.0", corev1.ProtocolTCP, 9090).Obj(), wantCode: framework.Unschedulable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, existing, []*corev1.Node{node}, spec(plugins.NodePortsName))
			var why []string
			if tc.wantCode != framework.Success {
				why = []string{reason}
			}
			wantStatus(t, e.filter(t, tc.pod, "n"), tc.wantCode, why...)
		})
	}
}
