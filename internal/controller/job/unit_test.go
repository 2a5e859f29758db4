package job

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIndexesRoundTrip(t *testing.T) {
	tests := []struct {
		name, in    string
		completions int
		want        string
	}{
		{"empty", "", 5, ""},
		{"single", "3", 5, "3"},
		{"ranges", "0-2,4,6-7", 10, "0-2,4,6-7"},
		{"merged", "0,1,2", 5, "0-2"},
		{"beyond completions dropped", "1,3-9", 5, "1,3-4"},
		{"garbage ignored", "x,2", 5, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatIndexes(parseIndexes(tc.in, tc.completions)); got != tc.want {
				t.Errorf("round trip of %q = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBackoffRemaining(t *testing.T) {
	base, maxDelay := 10*time.Second, 6*time.Minute
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := func(phase corev1.PodPhase, at time.Time) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(at)}},
		}}}}
	}
	tests := []struct {
		name string
		pods []*corev1.Pod
		now  time.Time
		want time.Duration
	}{
		{"no failures", []*corev1.Pod{pod(corev1.PodSucceeded, t0)}, t0, 0},
		{"one failure", []*corev1.Pod{pod(corev1.PodFailed, t0)}, t0.Add(4 * time.Second), 6 * time.Second},
		{"three failures double twice", []*corev1.Pod{pod(corev1.PodFailed, t0), pod(corev1.PodFailed, t0.Add(time.Second)), pod(corev1.PodFailed, t0.Add(2*time.Second))},
			t0.Add(2 * time.Second), 40 * time.Second},
		{"success resets", []*corev1.Pod{pod(corev1.PodFailed, t0), pod(corev1.PodFailed, t0.Add(time.Second)), pod(corev1.PodSucceeded, t0.Add(2*time.Second)), pod(corev1.PodFailed, t0.Add(3*time.Second))},
			t0.Add(3 * time.Second), 10 * time.Second},
		{"capped", func() []*corev1.Pod {
			var ps []*corev1.Pod
			for i := range 20 {
				ps = append(ps, pod(corev1.PodFailed, t0.Add(time.Duration(i)*time.Second)))
			}
			return ps
		}(), t0.Add(19 * time.Second), maxDelay},
		{"expired", []*corev1.Pod{pod(corev1.PodFailed, t0)}, t0.Add(time.Minute), -50 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoffRemaining(tc.pods, base, maxDelay, tc.now); got != tc.want {
				t.Errorf("backoffRemaining = %v, want %v", got, tc.want)
			}
		})
	}
}
