package replicaset

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// pod builds a pod for victim ranking.
type podSpec struct {
	name     string
	node     string
	phase    corev1.PodPhase
	readyAgo time.Duration // 0: not ready
	age      time.Duration
	restarts int32
	cost     string
}

func (s podSpec) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, UID: types.UID(s.name), CreationTimestamp: metav1.NewTime(now.Add(-s.age))},
		Spec:       corev1.PodSpec{NodeName: s.node},
		Status:     corev1.PodStatus{Phase: s.phase, ContainerStatuses: []corev1.ContainerStatus{{RestartCount: s.restarts}}},
	}
	if s.cost != "" {
		p.Annotations = map[string]string{AnnotationDeletionCost: s.cost}
	}
	if s.readyAgo > 0 {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-s.readyAgo))}}
	}
	return p
}

func TestPickVictims(t *testing.T) {
	run := corev1.PodRunning
	tests := []struct {
		name string
		pods []podSpec
		want string // the first victim
	}{
		{name: "unscheduled first", pods: []podSpec{
			{name: "scheduled", node: "n1", phase: corev1.PodPending, age: time.Hour},
			{name: "unscheduled", phase: corev1.PodPending, age: time.Hour},
		}, want: "unscheduled"},
		{name: "pending before unknown before running", pods: []podSpec{
			{name: "running", node: "n1", phase: run, age: time.Hour},
			{name: "unknown", node: "n1", phase: corev1.PodUnknown, age: time.Hour},
			{name: "pending", node: "n1", phase: corev1.PodPending, age: time.Hour},
		}, want: "pending"},
		{name: "not ready before ready", pods: []podSpec{
			{name: "ready", node: "n1", phase: run, readyAgo: time.Minute, age: time.Hour},
			{name: "unready", node: "n1", phase: run, age: time.Hour},
		}, want: "unready"},
		{name: "lower deletion cost first", pods: []podSpec{
			{name: "cheap", node: "n1", phase: run, readyAgo: time.Hour, age: time.Hour, cost: "-5"},
			{name: "dear", node: "n1", phase: run, readyAgo: time.Minute, age: time.Minute, cost: "10"},
		}, want: "cheap"},
		{name: "crowded node first", pods: []podSpec{
			{name: "alone", node: "n1", phase: run, readyAgo: time.Minute, age: time.Minute},
			{name: "crowded", node: "n2", phase: run, readyAgo: time.Hour, age: time.Hour},
			{name: "crowded-2", node: "n2", phase: run, readyAgo: time.Hour, age: time.Hour},
		}, want: "crowded"},
		{name: "ready for less time first", pods: []podSpec{
			{name: "long-ready", node: "n1", phase: run, readyAgo: time.Hour, age: time.Hour},
			{name: "just-ready", node: "n2", phase: run, readyAgo: 10 * time.Second, age: time.Hour},
		}, want: "just-ready"},
		{name: "more restarts first", pods: []podSpec{
			{name: "stable", node: "n1", phase: run, readyAgo: time.Hour, age: time.Hour},
			{name: "flaky", node: "n2", phase: run, readyAgo: time.Hour, age: time.Hour, restarts: 4},
		}, want: "flaky"},
		{name: "newer first", pods: []podSpec{
			{name: "old", node: "n1", phase: corev1.PodPending, age: 10 * time.Hour},
			{name: "new", node: "n2", phase: corev1.PodPending, age: time.Minute},
		}, want: "new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*corev1.Pod
			for _, s := range tc.pods {
				pods = append(pods, s.pod())
			}
			// Every order of the input gives the same victim.
			for shift := range pods {
				rotated := append(append([]*corev1.Pod{}, pods[shift:]...), pods[:shift]...)
				got := pickVictims(rotated, rotated, 1, now)
				if len(got) != 1 || got[0].Name != tc.want {
					t.Fatalf("rotation %d: victim %s, want %s", shift, fmt.Sprint(got[0].Name), tc.want)
				}
			}
		})
	}
}
