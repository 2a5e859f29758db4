package core

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

// now is the time tables are printed at in these tests; objects are
// created five minutes before.
var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(5 * time.Minute)}
}

// pod builds a pod with the given containers and edits it.
func pod(containers []string, edit func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: meta("web"), Status: corev1.PodStatus{Phase: corev1.PodPending}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: c + ":1"})
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func running(name string, restarts int32, lastExit time.Duration) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: name, Ready: true, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}}
	if lastExit > 0 {
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(lastExit)}
	}
	return cs
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}}
}

func TestPodTable(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	yes := true
	tests := []struct {
		name      string
		pod       *corev1.Pod
		wantCells []interface{}
		wantDone  string // reason of the Completed row condition, if any
	}{
		{
			name:      "new pod",
			pod:       pod([]string{"web"}, nil),
			wantCells: []interface{}{"web", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "running with restarts shows when the last one was",
			pod: pod([]string{"web", "log"}, func(p *corev1.Pod) {
				p.Spec.NodeName = "node-1"
				p.Status.Phase = corev1.PodRunning
				p.Status.PodIP, p.Status.PodIPs = "10.1.0.7", []corev1.PodIP{{IP: "10.1.0.7"}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{running("web", 3, 2*time.Minute), running("log", 1, 30*time.Minute)}
			}),
			wantCells: []interface{}{"web", "2/2", "Running", "4 (2m ago)", "5m", "10.1.0.7", "node-1", "<none>", "<none>"},
		},
		{
			name: "restart count without a last state is a plain number",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses = []corev1.ContainerStatus{running("web", 2, 0)}
			}),
			wantCells: []interface{}{"web", "1/1", "Running", "2", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "crash loop",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				cs := waiting("web", "CrashLoopBackOff")
				cs.RestartCount = 5
				cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(40 * time.Second)}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
			}),
			wantCells: []interface{}{"web", "0/1", "CrashLoopBackOff", "5 (40s ago)", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "container creating",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Spec.NodeName = "node-1"
				p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("web", "ContainerCreating")}
			}),
			wantCells: []interface{}{"web", "0/1", "ContainerCreating", "0", "5m", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "waiting for the first of two init containers",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{waiting("a", "PodInitializing"), waiting("b", "PodInitializing")}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("web", "PodInitializing")}
			}),
			wantCells: []interface{}{"web", "0/1", "Init:0/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "second init container crash looping counts init restarts",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b"}}
				b := waiting("b", "CrashLoopBackOff")
				b.RestartCount = 2
				b.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(time.Minute)}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("a", "Completed", 0), b}
			}),
			wantCells: []interface{}{"web", "0/1", "Init:CrashLoopBackOff", "2 (60s ago)", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "failed init container without a reason shows its exit code",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "a"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("a", "", 3)}
			}),
			wantCells: []interface{}{"web", "0/1", "Init:ExitCode:3", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "a started sidecar counts as a ready container",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
				proxy := running("proxy", 1, 3*time.Minute)
				proxy.Started = &yes
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{proxy}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{running("web", 0, 0)}
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}}
			}),
			wantCells: []interface{}{"web", "2/2", "Running", "1 (3m ago)", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "succeeded",
			pod: pod([]string{"job"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodSucceeded
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("job", "Completed", 0)}
			}),
			wantCells: []interface{}{"web", "0/1", "Completed", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
			wantDone:  "Succeeded",
		},
		{
			name: "failed with a signal",
			pod: pod([]string{"job"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				cs := terminated("job", "", 137)
				cs.State.Terminated.Signal = 9
				p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
			}),
			wantCells: []interface{}{"web", "0/1", "Signal:9", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
			wantDone:  "Failed",
		},
		{
			name: "first container completed while the other runs: Running when ready",
			pod: pod([]string{"init-like", "web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("init-like", "Completed", 0), running("web", 0, 0)}
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			}),
			wantCells: []interface{}{"web", "1/2", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "first container completed while the other runs: NotReady otherwise",
			pod: pod([]string{"init-like", "web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("init-like", "Completed", 0), running("web", 0, 0)}
			}),
			wantCells: []interface{}{"web", "1/2", "NotReady", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "being deleted",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.DeletionTimestamp = &metav1.Time{Time: now}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{running("web", 0, 0)}
			}),
			wantCells: []interface{}{"web", "1/1", "Terminating", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "a finished pod being deleted keeps its status",
			pod: pod([]string{"job"}, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodSucceeded
				p.DeletionTimestamp = &metav1.Time{Time: now}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("job", "Completed", 0)}
			}),
			wantCells: []interface{}{"web", "0/1", "Completed", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
			wantDone:  "Succeeded",
		},
		{
			name: "scheduling gated",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
			}),
			wantCells: []interface{}{"web", "0/1", "SchedulingGated", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "readiness gates and a nominated node",
			pod: pod([]string{"web"}, func(p *corev1.Pod) {
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "lb/ready"}, {ConditionType: "dns/ready"}}
				p.Status.NominatedNodeName = "node-2"
				p.Status.Conditions = []corev1.PodCondition{{Type: "lb/ready", Status: corev1.ConditionTrue}, {Type: "dns/ready", Status: corev1.ConditionFalse}}
			}),
			wantCells: []interface{}{"web", "0/1", "Pending", "0", "5m", "<none>", "<none>", "node-2", "1/2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := registrytest.Print(t, Pods(), tc.pod, now)
			if want := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}; !slices.Equal(got.Columns, want) {
				t.Errorf("columns = %q, want %q", got.Columns, want)
			}
			if want := []string{"IP", "NODE", "NOMINATED NODE", "READINESS GATES"}; !slices.Equal(got.Wide, want) {
				t.Errorf("wide columns = %q, want %q", got.Wide, want)
			}
			if !slices.Equal(got.Cells, tc.wantCells) {
				t.Errorf("cells = %#v\nwant    %#v", got.Cells, tc.wantCells)
			}
			done := ""
			if len(got.Conditions) == 1 && got.Conditions[0].Type == metav1.RowCompleted {
				done = got.Conditions[0].Reason
			}
			if done != tc.wantDone {
				t.Errorf("row conditions = %+v, want Completed reason %q", got.Conditions, tc.wantDone)
			}
		})
	}
}
