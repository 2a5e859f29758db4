package plugins_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func TestNodeResourcesFitFilter(t *testing.T) {
	node := st.MakeNode().Name("n").Capacity("cpu", "4", "memory", "8Gi", "pods", "3",
		"ephemeral-storage", "10Gi", "example.com/gpu", "2").Obj()
	existing := []*corev1.Pod{st.MakePod().Name("used").Node("n").Req("cpu", "2", "memory", "2Gi").Obj()}
	const (
		U  = framework.Unschedulable
		UU = framework.UnschedulableAndUnresolvable
	)
	tests := []struct {
		name     string
		args     any
		existing []*corev1.Pod
		pod      *corev1.Pod
		wantCode framework.Code
		wantWhy  []string
	}{
		{name: "fits", pod: st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(), wantCode: framework.Success},
		{name: "fits exactly", pod: st.MakePod().Req("cpu", "2", "memory", "6Gi").Obj(), wantCode: framework.Success},
		{name: "insufficient cpu", pod: st.MakePod().Req("cpu", "2100m").Obj(), wantCode: U, wantWhy: []string{"Insufficient cpu"}},
		{name: "more cpu than the node has", pod: st.MakePod().Req("cpu", "5").Obj(), wantCode: UU, wantWhy: []string{"Insufficient cpu"}},
		{name: "every insufficient resource is listed", pod: st.MakePod().Req("cpu", "3", "memory", "7Gi").Obj(),
			wantCode: U, wantWhy: []string{"Insufficient cpu", "Insufficient memory"}},
		{name: "ephemeral storage", pod: st.MakePod().Req("ephemeral-storage", "11Gi").Obj(), wantCode: UU, wantWhy: []string{"Insufficient ephemeral-storage"}},
		{name: "extended resource fits", pod: st.MakePod().Req("example.com/gpu", "2").Obj(), wantCode: framework.Success},
		{name: "extended resource short", pod: st.MakePod().Req("example.com/gpu", "3").Obj(), wantCode: UU, wantWhy: []string{"Insufficient example.com/gpu"}},
		{name: "extended resource the node lacks", pod: st.MakePod().Req("example.com/fpga", "1").Obj(), wantCode: UU, wantWhy: []string{"Insufficient example.com/fpga"}},
		{name: "ignored extended resource", args: plugins.NodeResourcesFitArgs{IgnoredResources: []string{"example.com/fpga"}},
			pod: st.MakePod().Req("example.com/fpga", "1").Obj(), wantCode: framework.Success},
		{name: "ignored resource group", args: plugins.NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com"}},
			pod: st.MakePod().Req("example.com/fpga", "1").Obj(), wantCode: framework.Success},
		{name: "too many pods", existing: append(existing, st.MakePod().Name("b").Node("n").Obj(), st.MakePod().Name("c").Node("n").Obj()),
			pod: st.MakePod().Obj(), wantCode: U, wantWhy: []string{"Too many pods"}},
		{name: "best-effort pod fits a full node", existing: []*corev1.Pod{st.MakePod().Name("full").Node("n").Req("cpu", "4", "memory", "8Gi").Obj()},
			pod: st.MakePod().Obj(), wantCode: framework.Success},
		{name: "init container peak counts", pod: st.MakePod().Req("cpu", "1").InitReq("cpu", "3").Obj(), wantCode: U, wantWhy: []string{"Insufficient cpu"}},
		{name: "init containers do not add up", pod: st.MakePod().Req("cpu", "1").InitReq("cpu", "2").InitReq("cpu", "2").Obj(), wantCode: framework.Success},
		{name: "sidecar runs with the app", pod: st.MakePod().Req("cpu", "1").SidecarReq("cpu", "1500m").Obj(), wantCode: U, wantWhy: []string{"Insufficient cpu"}},
		{name: "sidecar and app fit", pod: st.MakePod().Req("cpu", "1").SidecarReq("cpu", "500m").Obj(), wantCode: framework.Success},
		{name: "init after a sidecar runs next to it", pod: st.MakePod().Req("cpu", "500m").SidecarReq("cpu", "1").InitReq("cpu", "1500m").Obj(),
			wantCode: U, wantWhy: []string{"Insufficient cpu"}},
		{name: "pod overhead counts", pod: st.MakePod().Req("cpu", "1500m").Overhead("cpu", "1").Obj(), wantCode: U, wantWhy: []string{"Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pods := existing
			if tc.existing != nil {
				pods = tc.existing
			}
			specs := spec(plugins.NodeResourcesFitName)
			if tc.args != nil {
				specs = specArgs(plugins.NodeResourcesFitName, tc.args)
			}
			e := newEnv(t, pods, []*corev1.Node{node}, specs)
			wantStatus(t, e.filter(t, tc.pod, "n"), tc.wantCode, tc.wantWhy...)
		})
	}
}

func TestNodeResourcesFitScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("small").Capacity("cpu", "4", "memory", "8Gi", "pods", "10").Obj(),
		st.MakeNode().Name("big").Capacity("cpu", "8", "memory", "8Gi", "pods", "10").Obj(),
	}
	tests := []struct {
		name     string
		args     any
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]int64
	}{
		// small: cpu (4-1)/4=75, memory (8-1)/8=87 -> 81; big: 87, 87 -> 87.
		{name: "least allocated prefers free room", pod: st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(),
			want: map[string]int64{"small": 81, "big": 87}},
		// Requests default to 100m and 200Mi for scoring.
		{name: "best-effort pods count the defaults", pod: st.MakePod().Obj(),
			want: map[string]int64{"small": (97 + 97) / 2, "big": (98 + 97) / 2}},
		{name: "existing pods count", existing: []*corev1.Pod{st.MakePod().Name("e").Node("big").Req("cpu", "6", "memory", "6Gi").Obj()},
			pod:  st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(),
			want: map[string]int64{"small": 81, "big": (12 + 12) / 2}},
		{name: "most allocated prefers full nodes", args: plugins.NodeResourcesFitArgs{ScoringStrategy: &plugins.ScoringStrategy{Type: plugins.MostAllocated}},
			pod:  st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(),
			want: map[string]int64{"small": (25 + 12) / 2, "big": (12 + 12) / 2}},
		{name: "resource weights", args: plugins.NodeResourcesFitArgs{ScoringStrategy: &plugins.ScoringStrategy{Type: plugins.LeastAllocated,
			Resources: []plugins.ResourceSpec{{Name: "cpu", Weight: 3}, {Name: "memory", Weight: 1}}}},
			pod:  st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(),
			want: map[string]int64{"small": (75*3 + 87) / 4, "big": (87*3 + 87) / 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs := spec(plugins.NodeResourcesFitName)
			if tc.args != nil {
				specs = specArgs(plugins.NodeResourcesFitName, tc.args)
			}
			e := newEnv(t, tc.existing, nodes, specs)
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}

func TestNodeResourcesFitArgs(t *testing.T) {
	for _, args := range []string{
		`{"scoringStrategy":{"type":"RequestedToCapacityRatio"}}`,
		`{"unknownField":1}`,
		`{"scoringStrategy":{"type":"LeastAllocated","resources":[{"name":"cpu","weight":101}]}}`,
	} {
		if _, err := plugins.NewNodeResourcesFit([]byte(args), nil); err == nil {
			t.Errorf("args %s: want error", args)
		}
	}
}

func TestBalancedAllocation(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("small").Capacity("cpu", "4", "memory", "8Gi", "pods", "10").Obj(),
		st.MakeNode().Name("big").Capacity("cpu", "8", "memory", "8Gi", "pods", "10").Obj(),
	}
	tests := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]int64
	}{
		// small: cpu 1/4, memory 1/8: std 0.0625 -> 93; big: 1/8, 1/8 -> 100.
		{name: "balanced fractions score higher", pod: st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(),
			want: map[string]int64{"small": 93, "big": 100}},
		// big: cpu 5/8, memory 1/8: std 0.25 -> 75.
		{name: "existing pods count", existing: []*corev1.Pod{st.MakePod().Name("e").Node("big").Req("cpu", "4").Obj()},
			pod: st.MakePod().Req("cpu", "1", "memory", "1Gi").Obj(), want: map[string]int64{"small": 93, "big": 75}},
		{name: "pods without requests are not scored", pod: st.MakePod().Obj(), want: map[string]int64{"small": 0, "big": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.existing, nodes, spec(plugins.BalancedAllocationName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}

func TestImageLocality(t *testing.T) {
	const mib = 1024 * 1024
	nodes := []*corev1.Node{
		st.MakeNode().Name("has").Image(500*mib, "nginx:latest", "docker.io/library/nginx:latest").Image(10*mib, "tiny:1").Obj(),
		st.MakeNode().Name("also").Image(500*mib, "nginx:latest").Obj(),
		st.MakeNode().Name("none").Obj(),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		// 500 MiB scaled by spread 2/3, between the 23 MiB and 1000 MiB thresholds: 31.
		{name: "untagged image means latest", pod: st.MakePod().Image("nginx").Obj(),
			want: map[string]int64{"has": 31, "also": 31, "none": 0}},
		{name: "full name", pod: st.MakePod().Image("docker.io/library/nginx:latest").Obj(),
			want: map[string]int64{"has": 14, "also": 0, "none": 0}},
		{name: "small images do not count", pod: st.MakePod().Image("tiny:1").Obj(),
			want: map[string]int64{"has": 0, "also": 0, "none": 0}},
		{name: "other tag", pod: st.MakePod().Image("nginx:1.27").Obj(),
			want: map[string]int64{"has": 0, "also": 0, "none": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nodes, spec(plugins.ImageLocalityName))
			equalScores(t, e.scores(t, tc.pod), tc.want)
		})
	}
}
