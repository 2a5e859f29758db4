package daemonset_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

func TestPodsOnEligibleNodes(t *testing.T) {
	env := start(t, manager.Options{Controllers: []string{"podgc"}, PodGCQuarantine: time.Second, PodGCPeriod: time.Second})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 4, Prefix: "n"})
	for _, n := range []string{"n-0", "n-1", "n-3"} {
		labelNode(t, c, n, map[string]any{"role": "worker"})
	}
	labelNode(t, c, "n-2", map[string]any{"role": "db"})
	taintNode(t, c, "n-1", corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
	// Tolerated automatically: unschedulable and pressure taints.
	patchNode(t, c, "n-3", map[string]any{"spec": map[string]any{"unschedulable": true}})
	taintNode(t, c, "n-3",
		corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule},
		corev1.Taint{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule})
	ns := env.Namespace("ds-nodes")

	ds := daemonSet(ns, "agent")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"}
	ds = create(t, c, ds)
	waitOnNodes(t, c, ns, "n-0", "n-3")
	waitStatus(t, c, ns, "agent", all(2))
	for _, p := range livePods(t, c, ns) {
		checkDaemonPod(t, p, ds)
	}
	controllertest.Eventually(t, "SuccessfulCreate event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "agent"), "SuccessfulCreate", "Created pod: agent-"), nil
	})

	// Tolerating the taint brings n-1 in; the template change rolls too.
	patchDS(t, c, ns, "agent", `{"spec":{"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Exists"}]}}}}`)
	waitOnNodes(t, c, ns, "n-0", "n-1", "n-3")
	waitStatus(t, c, ns, "agent", all(3))

	// A node that starts matching gets a pod; one that stops loses it.
	labelNode(t, c, "n-2", map[string]any{"role": "worker"})
	labelNode(t, c, "n-0", map[string]any{"role": nil})
	waitOnNodes(t, c, ns, "n-1", "n-2", "n-3")

	// A NoExecute taint evicts; a node added later gets a pod.
	taintNode(t, c, "n-3", corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute})
	late := nodesim.Start(t, c, nodesim.Options{Prefix: "late"}).Names()[0]
	labelNode(t, c, late, map[string]any{"role": "worker"})
	waitOnNodes(t, c, ns, "n-1", "n-2", late)
	waitStatus(t, c, ns, "agent", all(3))

	// A node removed from the cluster loses its pod (the pod GC deletes
	// pods of vanished nodes) and is no longer counted.
	if err := c.CoreV1().Nodes().Delete(ctx, "n-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitOnNodes(t, c, ns, "n-1", late)
	waitStatus(t, c, ns, "agent", all(2))
}

// checkDaemonPod checks what the controller adds to a daemon pod.
func checkDaemonPod(t *testing.T, p corev1.Pod, ds *appsv1.DaemonSet) {
	t.Helper()
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("pod %s has no required node affinity", p.Name)
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	want := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{p.Spec.NodeName}}
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || fmt.Sprint(terms[0].MatchFields[0]) != fmt.Sprint(want) {
		t.Errorf("pod %s node affinity %+v, want matchFields %+v", p.Name, terms, want)
	}
	for _, tol := range []struct {
		key    string
		effect corev1.TaintEffect
	}{
		{"node.kubernetes.io/not-ready", corev1.TaintEffectNoExecute},
		{"node.kubernetes.io/unreachable", corev1.TaintEffectNoExecute},
		{"node.kubernetes.io/disk-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/memory-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/pid-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/unschedulable", corev1.TaintEffectNoSchedule},
	} {
		if !slices.ContainsFunc(p.Spec.Tolerations, func(x corev1.Toleration) bool {
			return x.Key == tol.key && x.Effect == tol.effect && x.Operator == corev1.TolerationOpExists && x.TolerationSeconds == nil
		}) {
			t.Errorf("pod %s lacks toleration %s:%s (has %+v)", p.Name, tol.key, tol.effect, p.Spec.Tolerations)
		}
	}
	if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" || p.Labels["pod-template-generation"] != fmt.Sprint(ds.Generation) {
		t.Errorf("pod %s labels %v lack the revision hash or template generation %d", p.Name, p.Labels, ds.Generation)
	}
	if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != ds.UID {
		t.Errorf("pod %s controllerRef %+v", p.Name, ref)
	}
}

func TestStatusAndFailedPods(t *testing.T) {
	env := start(t, manager.Options{})
	c := env.Client
	sim := nodesim.Start(t, c, nodesim.Options{Count: 3, Prefix: "s", NotReady: func(p *corev1.Pod) bool {
		return p.Spec.NodeName == "s-2"
	}})
	ns := env.Namespace("ds-status")
	create(t, c, daemonSet(ns, "agent"))
	waitStatus(t, c, ns, "agent", appsv1.DaemonSetStatus{
		DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, NumberAvailable: 2, NumberUnavailable: 1, UpdatedNumberScheduled: 3,
	})

	var failed corev1.Pod
	for _, p := range livePods(t, c, ns) {
		if p.Spec.NodeName == "s-0" {
			failed = p
		}
	}
	sim.Finish(ns, failed.Name, corev1.PodFailed)
	controllertest.Eventually(t, "failed pod replaced", func() (bool, error) {
		for _, p := range livePods(t, c, ns) {
			if p.Spec.NodeName == "s-0" && p.UID != failed.UID && p.Status.Phase == corev1.PodRunning {
				return true, nil
			}
		}
		return false, nil
	})
	controllertest.Eventually(t, "FailedDaemonPod event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "agent"), "FailedDaemonPod",
			fmt.Sprintf("Found failed daemon pod %s/%s on node s-0, will try to kill it", ns, failed.Name)), nil
	})
	waitOnNodes(t, c, ns, "s-0", "s-1", "s-2")
}

func TestOnDelete(t *testing.T) {
	env := start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Prefix: "od"})
	ns := env.Namespace("ds-ondelete")
	ds := daemonSet(ns, "agent")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	create(t, c, ds)
	waitStatus(t, c, ns, "agent", all(2))

	setImage(t, c, ns, "agent", "fluentd:2")
	waitStatus(t, c, ns, "agent", appsv1.DaemonSetStatus{
		DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2,
	})
	var victim corev1.Pod
	for _, p := range livePods(t, c, ns) {
		if p.Spec.Containers[0].Image != "fluentd:1" {
			t.Fatalf("pod %s changed image under OnDelete", p.Name)
		}
		victim = p
	}
	if err := c.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, ns, "agent", appsv1.DaemonSetStatus{
		DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 1,
	})
	for _, p := range livePods(t, c, ns) {
		if wantNew := p.Spec.NodeName == victim.Spec.NodeName; wantNew != (p.Spec.Containers[0].Image == "fluentd:2") {
			t.Fatalf("pod %s on %s has image %s", p.Name, p.Spec.NodeName, p.Spec.Containers[0].Image)
		}
	}
}

func TestRestartLosesNothing(t *testing.T) {
	env := start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 3, Prefix: "rs"})
	ns := env.Namespace("ds-restart")
	create(t, c, daemonSet(ns, "agent"))
	waitStatus(t, c, ns, "agent", all(3))
	setImage(t, c, ns, "agent", "fluentd:2")
	controllertest.Eventually(t, "rollout under way", func() (bool, error) {
		for _, p := range livePods(t, c, ns) {
			if p.Spec.Containers[0].Image == "fluentd:2" {
				return true, nil
			}
		}
		return false, nil
	})
	env.RestartManager()
	waitStatus(t, c, ns, "agent", all(3))
	for _, p := range livePods(t, c, ns) {
		if p.Spec.Containers[0].Image != "fluentd:2" {
			t.Fatalf("pod %s still at %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
	waitOnNodes(t, c, ns, "rs-0", "rs-1", "rs-2")
}

// TestNodeReadinessTaints checks readiness as upstream sees it, through
// taints: a not-ready node (NoSchedule taint) gets no new daemon pod, and
// a pod on a node that becomes unreachable (NoExecute taint) stays, since
// daemon pods tolerate it.
func TestNodeReadinessTaints(t *testing.T) {
	env := start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Prefix: "r"})
	taintNode(t, c, "r-1", corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule})
	ns := env.Namespace("ds-ready")
	create(t, c, daemonSet(ns, "agent"))
	waitStatus(t, c, ns, "agent", all(1))
	waitOnNodes(t, c, ns, "r-0")

	before := livePods(t, c, ns)[0]
	taintNode(t, c, "r-0", corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute})
	taintNode(t, c, "r-1")
	waitOnNodes(t, c, ns, "r-0", "r-1")
	// The daemon tolerations cover unreachable:NoExecute: the pod on r-0
	// is the one from before.
	for _, p := range livePods(t, c, ns) {
		if p.Spec.NodeName == "r-0" && p.UID != before.UID {
			t.Fatalf("pod on r-0 was replaced after the unreachable taint")
		}
	}
	waitStatus(t, c, ns, "agent", all(2))
}
