package podgc_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

var ctx = context.Background()

func start(t *testing.T) *controllertest.Env {
	return controllertest.Start(t, manager.Options{
		Controllers:              []string{"podgc"},
		TerminatedPodGCThreshold: 3,
		PodGCPeriod:              100 * time.Millisecond,
		PodGCQuarantine:          300 * time.Millisecond,
	})
}

func podNames(t *testing.T, c kubernetes.Interface, ns string) []string {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// createFinished creates pods on the node and has them succeed.
func createFinished(t *testing.T, c kubernetes.Interface, nodes *nodesim.Nodes, ns string, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, name, "job", nodes.Names()[0]), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		nodes.Finish(ns, name, corev1.PodSucceeded)
	}
	controllertest.Eventually(t, "pods finished", func() (bool, error) {
		for _, name := range names {
			p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodSucceeded {
				return false, err
			}
		}
		return true, nil
	})
}

// nextSecond waits until the wall clock enters a new second, so pods
// created after it are strictly newer (creation times have second
// precision).
func nextSecond() {
	s := time.Now().Truncate(time.Second)
	for time.Now().Truncate(time.Second).Equal(s) {
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTerminatedPodsAboveThreshold(t *testing.T) {
	env := start(t)
	c := env.Client
	nodes := nodesim.Start(t, c, nodesim.Options{})
	ns := env.Namespace("podgc")

	env.StopManager() // so the first three are not collected one by one
	createFinished(t, c, nodes, ns, "old-1", "old-2", "old-3")
	nextSecond()
	createFinished(t, c, nodes, ns, "new-1", "new-2", "new-3")
	// A running pod never counts.
	if _, err := c.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, "running", "web", nodes.Names()[0]), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.StartManager()
	controllertest.Eventually(t, "oldest finished pods collected", func() (bool, error) {
		got := podNames(t, c, ns)
		return fmt.Sprint(got) == "[new-1 new-2 new-3 running]", fmt.Errorf("pods %v", got)
	})
}

func TestPodsOnMissingNodes(t *testing.T) {
	env := start(t)
	c := env.Client
	nodes := nodesim.Start(t, c, nodesim.Options{})
	ns := env.Namespace("podgc-orphans")

	for _, p := range []*corev1.Pod{
		controllertest.Pod(ns, "on-ghost", "web", "ghost-node"),
		controllertest.Pod(ns, "on-real", "web", nodes.Names()[0]),
		controllertest.Pod(ns, "unscheduled", "web", ""),
	} {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, "pod on a missing node collected", func() (bool, error) {
		got := podNames(t, c, ns)
		return fmt.Sprint(got) == "[on-real unscheduled]", fmt.Errorf("pods %v", got)
	})
}
