package daemonset_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/scheduler"
)

var ctx = context.Background()

// start runs the daemonset controller (and extra controllers) and a real
// scheduler, which places the daemon pods by their node affinity.
func start(t *testing.T, o manager.Options) *controllertest.Env {
	t.Helper()
	o.Controllers = append([]string{"daemonset"}, o.Controllers...)
	env := controllertest.Start(t, o)
	so := scheduler.DefaultOptions()
	so.LeaderElect = false
	so.Logger = env.Options.Log
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- scheduler.Run(sctx, env.Server.Config, so) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
	})
	return env
}

// daemonSet is a RollingUpdate fixture with maxUnavailable 1.
func daemonSet(ns, name string) *appsv1.DaemonSet {
	one := intstr.FromInt32(1)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: controllertest.Labels(name)},
			Template: controllertest.PodTemplate(name, "fluentd:1"),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one},
			},
		},
	}
}

func create(t *testing.T, c kubernetes.Interface, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	t.Helper()
	out, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func patchDS(t *testing.T, c kubernetes.Interface, ns, name, p string) {
	t.Helper()
	if _, err := c.AppsV1().DaemonSets(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch %s: %v", p, err)
	}
}

func setImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patchDS(t, c, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, image))
}

// patchNode merge-patches a node's metadata or spec.
func patchNode(t *testing.T, c kubernetes.Interface, name string, p any) {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch node %s: %v", name, err)
	}
}

func labelNode(t *testing.T, c kubernetes.Interface, name string, labels map[string]any) {
	t.Helper()
	patchNode(t, c, name, map[string]any{"metadata": map[string]any{"labels": labels}})
}

func taintNode(t *testing.T, c kubernetes.Interface, name string, taints ...corev1.Taint) {
	t.Helper()
	patchNode(t, c, name, map[string]any{"spec": map[string]any{"taints": taints}})
}

// podNodes returns, for the live pods of the namespace, the nodes they run
// on (sorted); unscheduled pods count as "".
func podNodes(t *testing.T, c kubernetes.Interface, ns string) []string {
	t.Helper()
	var out []string
	for _, p := range livePods(t, c, ns) {
		out = append(out, p.Spec.NodeName)
	}
	slices.Sort(out)
	return out
}

func livePods(t *testing.T, c kubernetes.Interface, ns string) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitOnNodes waits until the namespace's live pods run on exactly nodes,
// one each.
func waitOnNodes(t *testing.T, c kubernetes.Interface, ns string, nodes ...string) {
	t.Helper()
	want := slices.Clone(nodes)
	slices.Sort(want)
	controllertest.Eventually(t, fmt.Sprintf("daemon pods on %v", want), func() (bool, error) {
		got := podNodes(t, c, ns)
		return slices.Equal(got, want), fmt.Errorf("pods on %v", got)
	})
}

// waitStatus waits for a status of the current generation; updated and
// misscheduled are compared too.
func waitStatus(t *testing.T, c kubernetes.Interface, ns, name string, w appsv1.DaemonSetStatus) *appsv1.DaemonSet {
	t.Helper()
	var ds *appsv1.DaemonSet
	controllertest.Eventually(t, fmt.Sprintf("daemonset %s status %+v", name, w), func() (bool, error) {
		var err error
		ds, err = c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := ds.Status
		ok := s.ObservedGeneration == ds.Generation && s.DesiredNumberScheduled == w.DesiredNumberScheduled &&
			s.CurrentNumberScheduled == w.CurrentNumberScheduled && s.NumberReady == w.NumberReady &&
			s.NumberAvailable == w.NumberAvailable && s.NumberUnavailable == w.NumberUnavailable &&
			s.UpdatedNumberScheduled == w.UpdatedNumberScheduled && s.NumberMisscheduled == w.NumberMisscheduled
		return ok, fmt.Errorf("status %+v", s)
	})
	return ds
}

// all is a status with n nodes, all pods ready, available and updated.
func all(n int32) appsv1.DaemonSetStatus {
	return appsv1.DaemonSetStatus{
		DesiredNumberScheduled: n, CurrentNumberScheduled: n, NumberReady: n, NumberAvailable: n, UpdatedNumberScheduled: n,
	}
}

// imagesAre fails unless there are n pods, all running image.
func imagesAre(t *testing.T, ps []corev1.Pod, image string, n int) {
	t.Helper()
	if len(ps) != n {
		t.Fatalf("%d pods, want %d", len(ps), n)
	}
	for _, p := range ps {
		if got := p.Spec.Containers[0].Image; got != image {
			t.Fatalf("pod %s runs %s, want %s", p.Name, got, image)
		}
	}
}

// slowStart makes pods take 0-300ms (by name) to start, so a rollout has
// intermediate states to see.
func slowStart(p *corev1.Pod) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(p.Name))
	return time.Duration(h.Sum32()%300) * time.Millisecond
}
