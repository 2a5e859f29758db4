package deployment_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

// deploymentControllers are what a Deployment needs to run.
var deploymentControllers = []string{"deployment", "replicaset"}

// neverReady marks pods of images meant never to become ready.
func neverReady(p *corev1.Pod) bool { return p.Spec.Containers[0].Image == "never:ready" }

func start(t *testing.T) (*controllertest.Env, *nodesim.Nodes) {
	t.Helper()
	env := controllertest.Start(t, manager.Options{Controllers: deploymentControllers})
	nodes := nodesim.Start(t, env.Client, nodesim.Options{Count: 3, Bind: true, NotReady: neverReady})
	return env, nodes
}

func TestRollingUpdate(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy")

	d := controllertest.Deployment(ns, "web", 4, intstr.FromInt32(1), intstr.FromInt32(1))
	d, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")
	sets := replicaSets(t, c, d)
	if len(sets) != 1 {
		t.Fatalf("replica sets = %d, want 1", len(sets))
	}
	first := sets[0]
	hash := first.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if hash == "" || first.Name != "web-"+hash || first.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		first.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Fatalf("replica set %s: hash label %q not in its name, template and selector", first.Name, hash)
	}
	if got := d.Annotations["deployment.kubernetes.io/revision"]; got != "1" {
		t.Fatalf("deployment revision = %q, want 1", got)
	}
	if st := d.Status; st.Replicas != 4 || st.UpdatedReplicas != 4 || st.ReadyReplicas != 4 || st.AvailableReplicas != 4 || st.UnavailableReplicas != 0 {
		t.Fatalf("status = %+v", st)
	}
	if cond := condition(d, appsv1.DeploymentAvailable); cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "MinimumReplicasAvailable" {
		t.Fatalf("Available condition = %+v", cond)
	}
	if cond := condition(d, appsv1.DeploymentProgressing); cond == nil || cond.Reason != "NewReplicaSetAvailable" ||
		cond.Message != fmt.Sprintf("ReplicaSet %q has successfully progressed.", first.Name) {
		t.Fatalf("Progressing condition = %+v", cond)
	}

	setImage(t, c, ns, "web", "nginx:1.28")
	d = waitRolledOut(t, c, ns, "web")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 4)) {
		t.Fatalf("pod images = %v", got)
	}
	sets = replicaSets(t, c, d)
	if len(sets) != 2 || sets[0].Name != first.Name || *sets[0].Spec.Replicas != 0 || revision(&sets[1]) != 2 {
		t.Fatalf("want the first RS at 0 and a second at revision 2")
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Fatalf("deployment revision = %q, want 2", d.Annotations["deployment.kubernetes.io/revision"])
	}
	events := controllertest.Events(t, c, ns, "web")
	for _, want := range []string{
		fmt.Sprintf("Scaled up replica set %s from 0 to", sets[1].Name),
		fmt.Sprintf("Scaled down replica set %s from", first.Name),
	} {
		if !controllertest.HasEvent(events, "ScalingReplicaSet", want) {
			t.Errorf("no ScalingReplicaSet event %q in %v", want, events)
		}
	}
}

func TestRecreateNeverOverlaps(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-recreate")

	// Watch every pod of the namespace: no pod of the new template may
	// exist while one of the old template still does.
	var mu sync.Mutex
	var violation string
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	podInf := factory.Core().V1().Pods().Informer()
	check := func(any) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, obj := range podInf.GetStore().List() {
			seen[obj.(*corev1.Pod).Spec.Containers[0].Image] = true
		}
		if seen["nginx:1.27"] && seen["nginx:1.28"] && violation == "" {
			violation = "old and new pods existed at the same time"
		}
	}
	_, _ = podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: check, UpdateFunc: func(_, o any) { check(o) }, DeleteFunc: check})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)

	d := controllertest.Deployment(ns, "web", 3, intstr.FromInt32(0), intstr.FromInt32(0))
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, ns, "web")
	setImage(t, c, ns, "web", "nginx:1.28")
	waitRolledOut(t, c, ns, "web")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 3)) {
		t.Fatalf("pod images = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if violation != "" {
		t.Fatal(violation)
	}
}

// TestRollbackLikeKubectl does what `kubectl rollout undo` (v1.32) does:
// copy the previous RS's template (without the hash label) and annotations
// into the Deployment with a JSON patch.
func TestRollbackLikeKubectl(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-undo")

	d := controllertest.Deployment(ns, "web", 3, intstr.FromString("25%"), intstr.FromString("25%"))
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "first"}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")
	patchDeployment(t, c, ns, "web", `{"metadata":{"annotations":{"kubernetes.io/change-cause":"second"}},"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.28"}]}}}}`)
	d = waitRolledOut(t, c, ns, "web")
	old := replicaSetFor(t, c, d, "nginx:1.27")
	if old.Annotations["kubernetes.io/change-cause"] != "first" {
		t.Fatalf("revision 1 change-cause = %q", old.Annotations["kubernetes.io/change-cause"])
	}

	template := old.Spec.Template.DeepCopy()
	delete(template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	annotations := map[string]string{"deployment.kubernetes.io/revision": d.Annotations["deployment.kubernetes.io/revision"]}
	for k, v := range old.Annotations {
		switch k {
		case "deployment.kubernetes.io/revision", "deployment.kubernetes.io/revision-history",
			"deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas":
		default:
			annotations[k] = v
		}
	}
	patch, _ := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/spec/template", "value": template},
		{"op": "replace", "path": "/metadata/annotations", "value": annotations},
	})
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "web", types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.27", 3)) {
		t.Fatalf("pod images after undo = %v", got)
	}
	// The old RS is the new one again, at revision 3 with 1 in its history;
	// no third RS.
	sets := replicaSets(t, c, d)
	if len(sets) != 2 {
		t.Fatalf("replica sets = %d, want 2", len(sets))
	}
	back := replicaSetFor(t, c, d, "nginx:1.27")
	if back.UID != old.UID || revision(back) != 3 || back.Annotations["deployment.kubernetes.io/revision-history"] != "1" {
		t.Fatalf("rolled-back RS %s: revision %d history %q, want the old RS at 3 with history 1",
			back.Name, revision(back), back.Annotations["deployment.kubernetes.io/revision-history"])
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "3" || d.Annotations["kubernetes.io/change-cause"] != "first" {
		t.Fatalf("deployment annotations = %v", d.Annotations)
	}
}

func TestPauseResumeAndRestart(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-pause")

	d := controllertest.Deployment(ns, "web", 2, intstr.FromInt32(1), intstr.FromInt32(0))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")

	patchDeployment(t, c, ns, "web", `{"spec":{"paused":true}}`)
	setImage(t, c, ns, "web", "nginx:1.28")
	patchDeployment(t, c, ns, "web", `{"spec":{"replicas":3}}`)
	controllertest.Eventually(t, "paused deployment scaled, observed and marked paused", func() (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 3 &&
			cond != nil && cond.Reason == "DeploymentPaused" && cond.Status == corev1.ConditionUnknown, nil
	})
	if sets := replicaSets(t, c, d); len(sets) != 1 {
		t.Fatalf("a paused deployment made a new replica set")
	}
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.27", 3)) {
		t.Fatalf("pod images while paused = %v", got)
	}

	patchDeployment(t, c, ns, "web", `{"spec":{"paused":false}}`)
	d = waitRolledOut(t, c, ns, "web")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 3)) {
		t.Fatalf("pod images after resume = %v", got)
	}

	// kubectl rollout restart: a template annotation.
	before := replicaSetFor(t, c, d, "nginx:1.28")
	patchDeployment(t, c, ns, "web", `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}`)
	d = waitRolledOut(t, c, ns, "web")
	sets := replicaSets(t, c, d)
	newest := sets[len(sets)-1]
	if newest.UID == before.UID || newest.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || *newest.Spec.Replicas != 3 {
		t.Fatalf("restart did not roll a new replica set")
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-history")

	d := controllertest.Deployment(ns, "web", 1, intstr.FromInt32(1), intstr.FromInt32(0))
	limit := int32(1)
	d.Spec.RevisionHistoryLimit = &limit
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, ns, "web")
	for _, image := range []string{"nginx:1.28", "nginx:1.29", "nginx:1.30"} {
		setImage(t, c, ns, "web", image)
		waitRolledOut(t, c, ns, "web")
	}
	d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "history trimmed to one old replica set", func() (bool, error) {
		sets := replicaSets(t, c, d)
		return len(sets) == 2 && revision(&sets[0]) == 3 && revision(&sets[1]) == 4, nil
	})
}

func TestProgressDeadlineExceeded(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-deadline")

	d := controllertest.Deployment(ns, "web", 2, intstr.FromInt32(1), intstr.FromInt32(0))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, ns, "web")
	// A short deadline only for the rollout meant to fail (timestamps have
	// second precision, so a 2s deadline can pass after 1s).
	patchDeployment(t, c, ns, "web", `{"spec":{"progressDeadlineSeconds":2,"template":{"spec":{"containers":[{"name":"main","image":"never:ready"}]}}}}`)

	// Nothing happens after the new pods start; only the controller's own
	// deadline check can flip the condition.
	controllertest.Eventually(t, "ProgressDeadlineExceeded", func() (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, _, rerr := rolloutStatus(d)
		cond := condition(d, appsv1.DeploymentProgressing)
		return rerr != nil && cond.Status == corev1.ConditionFalse &&
			cond.Message == fmt.Sprintf("ReplicaSet %q has timed out progressing.", replicaSetFor(t, c, d, "never:ready").Name), nil
	})
	// maxUnavailable 0: the old pods all stay.
	if got := images(t, c, ns); !slices.Equal(got, []string{"never:ready", "nginx:1.27", "nginx:1.27"}) {
		t.Fatalf("pod images = %v", got)
	}

	// A new template starts a new rollout that completes.
	patchDeployment(t, c, ns, "web", `{"spec":{"progressDeadlineSeconds":600,"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.28"}]}}}}`)
	waitRolledOut(t, c, ns, "web")
}

func TestProportionalScalingDuringRollout(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-proportional")

	d := controllertest.Deployment(ns, "web", 10, intstr.FromInt32(3), intstr.FromInt32(2))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")
	// The new pods never become ready: the rollout stops at old 8, new 5
	// (13 = 10 + maxSurge pods, 8 = 10 - maxUnavailable available).
	setImage(t, c, ns, "web", "never:ready")
	sizes := func() (int32, int32) {
		var old, cur int32
		for _, rs := range replicaSets(t, c, d) {
			if rs.Spec.Template.Spec.Containers[0].Image == "never:ready" {
				cur = *rs.Spec.Replicas
			} else {
				old += *rs.Spec.Replicas
			}
		}
		return old, cur
	}
	controllertest.Eventually(t, "rollout stuck at 8 old + 5 new", func() (bool, error) {
		if old, cur := sizes(); old != 8 || cur != 5 {
			return false, fmt.Errorf("old %d new %d", old, cur)
		}
		return true, nil
	})
	// Scaling to 20 spreads the 10 extra pods in proportion: 8*23/13 and
	// 5*23/13, rounded.
	patchDeployment(t, c, ns, "web", `{"spec":{"replicas":20}}`)
	controllertest.Eventually(t, "proportionally scaled to 14 old + 9 new", func() (bool, error) {
		if old, cur := sizes(); old != 14 || cur != 9 {
			return false, fmt.Errorf("old %d new %d", old, cur)
		}
		return true, nil
	})
}

func TestDeploymentManagerRestart(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("deploy-restart")

	d := controllertest.Deployment(ns, "web", 6, intstr.FromInt32(1), intstr.FromInt32(1))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, ns, "web")
	setImage(t, c, ns, "web", "nginx:1.28")
	controllertest.Eventually(t, "rollout started", func() (bool, error) {
		return len(replicaSets(t, c, d)) == 2, nil
	})
	env.StopManager()
	env.StartManager()
	d = waitRolledOut(t, c, ns, "web")
	sets := replicaSets(t, c, d)
	if len(sets) != 2 || revision(&sets[1]) != 2 || *sets[0].Spec.Replicas != 0 || *sets[1].Spec.Replicas != 6 {
		t.Fatalf("after restart: %d replica sets, want the old at 0 and revision 2 at 6", len(sets))
	}
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 6)) {
		t.Fatalf("pod images = %v", got)
	}

	// Changed while the manager was down.
	env.StopManager()
	setImage(t, c, ns, "web", "nginx:1.29")
	env.StartManager()
	waitRolledOut(t, c, ns, "web")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.29", 6)) {
		t.Fatalf("pod images = %v", got)
	}
}
