package priority_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// TestServerHonoursDefaultClassChanges: through a real server, pods
// created after a global default class is created, stops being the
// default, becomes it again or is deleted get the priority that follows.
func TestServerHonoursDefaultClassChanges(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx := context.Background()
	pcs := srv.Client.SchedulingV1().PriorityClasses()
	// podPriority dry-run creates a pod without priorityClassName and
	// returns its class and priority.
	podPriority := func() (string, int32) {
		t.Helper()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		got, err := srv.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatalf("create pod: %v", err)
		}
		return got.Spec.PriorityClassName, *got.Spec.Priority
	}
	// eventually waits until pods get class and prio (the plugin reads
	// the watch cache, which follows a write within moments).
	eventually := func(step, class string, prio int32) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, p := podPriority()
			if c == class && p == prio {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: pods get %q/%d, want %q/%d", step, c, p, class, prio)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	eventually("no default", "", 0)
	def, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "def"}, Value: 700, GlobalDefault: true}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually("default created", "def", 700)
	def.GlobalDefault = false
	if def, err = pcs.Update(ctx, def, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("no longer default", "", 0)
	def.GlobalDefault = true
	if _, err = pcs.Update(ctx, def, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("default again", "def", 700)
	if err := pcs.Delete(ctx, "def", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("default deleted", "", 0)
}
