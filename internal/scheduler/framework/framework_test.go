package framework_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name        string
		pod         *corev1.Pod
		wantCPU     int64
		wantMem     int64
		wantNonZero int64 // cpu
	}{
		{name: "sum of containers", pod: st.MakePod().Req("cpu", "1").Req("cpu", "500m", "memory", "1Gi").Obj(),
			wantCPU: 1500, wantMem: 1 << 30, wantNonZero: 1500},
		{name: "init peak wins", pod: st.MakePod().Req("cpu", "1").InitReq("cpu", "2").Obj(), wantCPU: 2000, wantNonZero: 2000},
		{name: "init containers run one at a time", pod: st.MakePod().Req("cpu", "1").InitReq("cpu", "800m").InitReq("cpu", "900m").Obj(),
			wantCPU: 1000, wantNonZero: 1000},
		{name: "sidecars add to the app", pod: st.MakePod().Req("cpu", "1").SidecarReq("cpu", "500m").Obj(), wantCPU: 1500, wantNonZero: 1500},
		{name: "init runs next to earlier sidecars", pod: st.MakePod().Req("cpu", "100m").SidecarReq("cpu", "1").InitReq("cpu", "2").Obj(),
			wantCPU: 3000, wantNonZero: 3000},
		{name: "init before a sidecar runs alone", pod: st.MakePod().Req("cpu", "100m").InitReq("cpu", "2").SidecarReq("cpu", "1").Obj(),
			wantCPU: 2000, wantNonZero: 2000},
		{name: "overhead", pod: st.MakePod().Req("cpu", "1").Overhead("cpu", "250m", "memory", "64Mi").Obj(),
			wantCPU: 1250, wantMem: 64 << 20, wantNonZero: 1250},
		{name: "best effort: zero, scoring default", pod: st.MakePod().Obj(), wantNonZero: framework.DefaultMilliCPURequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := framework.PodRequests(tc.pod, nil)
			if r.MilliCPU != tc.wantCPU || r.Memory != tc.wantMem {
				t.Errorf("requests = %dm cpu, %d memory; want %dm, %d", r.MilliCPU, r.Memory, tc.wantCPU, tc.wantMem)
			}
			if nz := framework.NonZeroPodRequests(tc.pod); nz.MilliCPU != tc.wantNonZero {
				t.Errorf("non-zero cpu = %d, want %d", nz.MilliCPU, tc.wantNonZero)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	un := func(reasons ...string) *framework.Status {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	tests := []struct {
		name string
		err  framework.FitError
		want string
	}{
		{name: "histogram sorted as strings",
			err: framework.FitError{NumAllNodes: 3, Diagnosis: framework.Diagnosis{NodeToStatus: framework.NodeToStatus{
				"a": un("Insufficient cpu"), "b": un("node(s) had untolerated taint {key: value}"), "c": un("node(s) had untolerated taint {key: value}")},
				PostFilterMsg: "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."}},
			want: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {key: value}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		{name: "every reason of a node counts",
			err: framework.FitError{NumAllNodes: 1, Diagnosis: framework.Diagnosis{NodeToStatus: framework.NodeToStatus{
				"a": un("Insufficient cpu", "Insufficient memory")}}},
			want: "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
		{name: "prefilter message replaces the histogram",
			err: framework.FitError{NumAllNodes: 2, Diagnosis: framework.Diagnosis{NodeToStatus: framework.NodeToStatus{"a": un("x"), "b": un("x")},
				PreFilterMsg: "node(s) didn't match pod affinity rules"}},
			want: "0/2 nodes are available: node(s) didn't match pod affinity rules."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestNodeInfoAddRemove(t *testing.T) {
	node := st.MakeNode().Name("n").Capacity("cpu", "4", "pods", "10").Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	a := st.MakePod().Name("a").Req("cpu", "1").HostPort("", "", 80).PodAntiAffinity(st.PodAffinityTerm("k", "app", "x")).Obj()
	b := st.MakePod().Name("b").Req("cpu", "2").Obj()
	ni.AddPod(a)
	ni.AddPod(b)
	clone := ni.Clone()
	if err := ni.RemovePod(a); err != nil {
		t.Fatal(err)
	}
	if ni.Requested.MilliCPU != 2000 || len(ni.Pods) != 1 || len(ni.PodsWithRequiredAntiAffinity) != 0 || ni.UsedPorts.CheckConflict("", "", 80) {
		t.Errorf("after remove: %+v", ni)
	}
	if clone.Requested.MilliCPU != 3000 || len(clone.Pods) != 2 || len(clone.PodsWithAffinity) != 1 || !clone.UsedPorts.CheckConflict("", "", 80) {
		t.Errorf("clone changed: %+v", clone)
	}
	if err := ni.RemovePod(a); err == nil {
		t.Error("removing a missing pod: want error")
	}
}
