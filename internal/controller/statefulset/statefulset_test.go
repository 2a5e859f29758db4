package statefulset_test

import (
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

// slowStart makes pods take 0-150ms (by name) to start, so that ordering
// mistakes have room to show.
func slowStart(p *corev1.Pod) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(p.Name + string(p.UID)))
	return time.Duration(h.Sum32()%150) * time.Millisecond
}

func start(t *testing.T, controllers ...string) (*controllertest.Env, *nodesim.Nodes) {
	t.Helper()
	env := controllertest.Start(t, manager.Options{Controllers: append([]string{"statefulset"}, controllers...)})
	nodes := nodesim.Start(t, env.Client, nodesim.Options{Count: 2, Bind: true, StartDelay: slowStart})
	return env, nodes
}

func TestOrderedCreateAndReverseScaleDown(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("sts-order")
	tr := track(t, c, ns, true)

	create(t, c, statefulSet(ns, "web", 3))
	set := waitStatus(t, c, ns, "web", want{replicas: 3, ready: 3, current: 3, updated: 3, revs: true, rolledOut: true})
	if got := names(pods(t, c, ns)); !slices.Equal(got, []string{"web-0", "web-1", "web-2"}) {
		t.Fatalf("pods = %v", got)
	}
	for i, name := range []string{"web-0", "web-1", "web-2"} {
		p := pods(t, c, ns)[name]
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web-svc" {
			t.Errorf("%s: hostname %q subdomain %q", name, p.Spec.Hostname, p.Spec.Subdomain)
		}
		wantLabels := map[string]string{
			appsv1.StatefulSetPodNameLabel: name, appsv1.PodIndexLabel: fmt.Sprint(i),
			appsv1.ControllerRevisionHashLabelKey: set.Status.UpdateRevision,
		}
		for k, v := range wantLabels {
			if p.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", name, k, p.Labels[k], v)
			}
		}
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != set.UID {
			t.Errorf("%s: controllerRef %+v", name, ref)
		}
	}
	controllertest.Eventually(t, "SuccessfulCreate event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "web"), "SuccessfulCreate", "create Pod web-2 in StatefulSet web successful"), nil
	})

	scale(t, c, ns, "web", 5)
	waitStatus(t, c, ns, "web", want{replicas: 5, ready: 5})
	scale(t, c, ns, "web", 1)
	waitStatus(t, c, ns, "web", want{replicas: 1, ready: 1})
	created, deleted := tr.check()
	if want := []string{"web-0", "web-1", "web-2", "web-3", "web-4"}; !slices.Equal(created, want) {
		t.Fatalf("created in order %v, want %v", created, want)
	}
	if want := []string{"web-4", "web-3", "web-2", "web-1"}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted in order %v, want %v", deleted, want)
	}
	controllertest.Eventually(t, "SuccessfulDelete event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "web"), "SuccessfulDelete", "delete Pod web-4 in StatefulSet web successful"), nil
	})
}

// claimTemplates is one 1Gi ReadWriteOnce template "data" labelled
// tier=storage.
func claimTemplates() []corev1.PersistentVolumeClaim {
	return []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "storage"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
}

// liveClaims lists the names of the namespace's PVCs not being deleted.
func liveClaims(c kubernetes.Interface, ns string) ([]string, error) {
	list, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var live []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p.Name)
		}
	}
	return live, nil
}

func TestStartOrdinalAndClaimTemplates(t *testing.T) {
	env, _ := start(t, "garbagecollector")
	c := env.Client
	ns := env.Namespace("sts-pvc")

	set := statefulSet(ns, "db", 3)
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
	set.Spec.VolumeClaimTemplates = claimTemplates()
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	set = create(t, c, set)
	waitStatus(t, c, ns, "db", want{replicas: 3, ready: 3})
	if got := names(pods(t, c, ns)); !slices.Equal(got, []string{"db-5", "db-6", "db-7"}) {
		t.Fatalf("pods = %v, want db-5..db-7", got)
	}
	for _, ord := range []int{5, 6, 7} {
		claim := fmt.Sprintf("data-db-%d", ord)
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pvc %s: %v", claim, err)
		}
		if pvc.Labels["tier"] != "storage" || pvc.Labels["app"] != "db" {
			t.Errorf("pvc %s labels %v, want template and selector labels", claim, pvc.Labels)
		}
		if len(pvc.OwnerReferences) != 0 {
			t.Errorf("pvc %s of a live pod owned by %+v, want nobody (whenDeleted Retain)", claim, pvc.OwnerReferences)
		}
		p := pods(t, c, ns)[fmt.Sprintf("db-%d", ord)]
		var found bool
		for _, v := range p.Spec.Volumes {
			found = found || (v.Name == "data" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim)
		}
		if !found {
			t.Errorf("pod %s volumes %+v lack claim %s", p.Name, p.Spec.Volumes, claim)
		}
	}
	controllertest.Eventually(t, "claim event", func() (bool, error) {
		return controllertest.HasEvent(controllertest.Events(t, c, ns, "db"), "SuccessfulCreate", "create Claim data-db-5 Pod db-5 in StatefulSet db success"), nil
	})

	// whenScaled: Delete — the claims of removed ordinals go with their pods.
	scale(t, c, ns, "db", 1)
	waitStatus(t, c, ns, "db", want{replicas: 1, ready: 1})
	controllertest.Eventually(t, "claims of db-6 and db-7 deleted", func() (bool, error) {
		live, err := liveClaims(c, ns)
		if err != nil {
			return false, err
		}
		return slices.Equal(live, []string{"data-db-5"}), fmt.Errorf("claims %v", live)
	})

	// whenDeleted: Retain — deleting the set keeps the last claim.
	if err := c.AppsV1().StatefulSets(ns).Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "pods gone with the set", func() (bool, error) {
		return len(pods(t, c, ns)) == 0, nil
	})
	if _, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-5", metav1.GetOptions{}); err != nil {
		t.Fatalf("retained claim: %v", err)
	}
}

func TestWhenDeletedDeletesClaims(t *testing.T) {
	env, _ := start(t, "garbagecollector")
	c := env.Client
	ns := env.Namespace("sts-pvc-del")
	set := statefulSet(ns, "db", 2)
	set.Spec.VolumeClaimTemplates = claimTemplates()
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	create(t, c, set)
	waitStatus(t, c, ns, "db", want{replicas: 2, ready: 2})
	scale(t, c, ns, "db", 1)
	waitStatus(t, c, ns, "db", want{replicas: 1, ready: 1})
	// whenScaled: Retain — the claim of db-1 stays.
	if _, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("claim of the scaled-down pod: %v", err)
	}
	if err := c.AppsV1().StatefulSets(ns).Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "claims owned by the set deleted with it", func() (bool, error) {
		live, err := liveClaims(c, ns)
		if err != nil {
			return false, err
		}
		// data-db-1 was made while the set owned claims too.
		return len(live) == 0, fmt.Errorf("claims %v", live)
	})
}

func revisionOf(p corev1.Pod) string { return p.Labels[appsv1.ControllerRevisionHashLabelKey] }

func TestRollingUpdateWithPartition(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("sts-roll")
	set := statefulSet(ns, "web", 3)
	two := int32(2)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &two},
	}
	create(t, c, set)
	first := waitStatus(t, c, ns, "web", want{replicas: 3, ready: 3, rolledOut: true})
	tr := track(t, c, ns, false)

	setImage(t, c, ns, "web", "nginx:1.28")
	// Only ordinals >= 2 move.
	set = waitStatus(t, c, ns, "web", want{replicas: 3, ready: 3, current: 2, updated: 1, revs: true})
	if set.Status.CurrentRevision != first.Status.CurrentRevision || set.Status.UpdateRevision == set.Status.CurrentRevision {
		t.Fatalf("revisions current %q update %q, want current kept at %q", set.Status.CurrentRevision, set.Status.UpdateRevision, first.Status.CurrentRevision)
	}
	ps := pods(t, c, ns)
	for name, wantImage := range map[string]string{"web-0": "nginx:1.27", "web-1": "nginx:1.27", "web-2": "nginx:1.28"} {
		if got := ps[name].Spec.Containers[0].Image; got != wantImage {
			t.Errorf("%s image %s, want %s", name, got, wantImage)
		}
	}
	// A deleted pod below the partition comes back at the old revision.
	if err := c.CoreV1().Pods(ns).Delete(ctx, "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "web-0 recreated", func() (bool, error) {
		p, ok := pods(t, c, ns)["web-0"]
		return ok && ready(&p) && p.UID != ps["web-0"].UID, nil
	})
	if got := pods(t, c, ns)["web-0"]; revisionOf(got) != first.Status.CurrentRevision || got.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("recreated web-0 at revision %s image %s, want the current one", revisionOf(got), got.Spec.Containers[0].Image)
	}

	patch(t, c, ns, "web", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
	set = waitStatus(t, c, ns, "web", want{replicas: 3, ready: 3, current: 3, updated: 3, revs: true, rolledOut: true})
	for name, p := range pods(t, c, ns) {
		if p.Spec.Containers[0].Image != "nginx:1.28" || revisionOf(p) != set.Status.UpdateRevision {
			t.Errorf("%s: image %s revision %s after the rollout", name, p.Spec.Containers[0].Image, revisionOf(p))
		}
	}
	_, deleted := tr.check()
	if want := []string{"web-2", "web-0", "web-1", "web-0"}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted in order %v, want %v (update in reverse ordinal order)", deleted, want)
	}
}

func TestOnDelete(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("sts-ondelete")
	set := statefulSet(ns, "web", 2)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	create(t, c, set)
	waitStatus(t, c, ns, "web", want{replicas: 2, ready: 2})
	before := pods(t, c, ns)

	setImage(t, c, ns, "web", "nginx:1.28")
	set = waitStatus(t, c, ns, "web", want{replicas: 2, ready: 2, current: 2, updated: 0, revs: true})
	for name, p := range pods(t, c, ns) {
		if p.UID != before[name].UID {
			t.Fatalf("%s replaced under OnDelete", name)
		}
	}
	if err := c.CoreV1().Pods(ns).Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, ns, "web", want{replicas: 2, ready: 2, current: 1, updated: 1, revs: true})
	after := pods(t, c, ns)
	if after["web-1"].Spec.Containers[0].Image != "nginx:1.28" || after["web-0"].Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("images web-0 %s web-1 %s, want only the deleted pod updated",
			after["web-0"].Spec.Containers[0].Image, after["web-1"].Spec.Containers[0].Image)
	}
}

func TestParallel(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"statefulset"}})
	c := env.Client
	// No pod ever becomes ready: OrderedReady would stop at web-0.
	nodesim.Start(t, c, nodesim.Options{Bind: true, NotReady: func(*corev1.Pod) bool { return true }})
	ns := env.Namespace("sts-parallel")
	set := statefulSet(ns, "web", 4)
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	create(t, c, set)
	waitStatus(t, c, ns, "web", want{replicas: 4, ready: 0})
	scale(t, c, ns, "web", 0)
	waitStatus(t, c, ns, "web", want{replicas: 0, ready: 0})
	controllertest.Eventually(t, "all pods gone", func() (bool, error) { return len(pods(t, c, ns)) == 0, nil })
}

func TestOrderedReadyWaitsForReady(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"statefulset"}})
	c := env.Client
	nodes := nodesim.Start(t, c, nodesim.Options{Bind: true, NotReady: func(p *corev1.Pod) bool { return p.Name == "web-1" }})
	ns := env.Namespace("sts-wait")
	create(t, c, statefulSet(ns, "web", 3))
	waitStatus(t, c, ns, "web", want{replicas: 2, ready: 1})
	// web-2 waits behind the unready web-1; a failed web-1 is replaced.
	old := pods(t, c, ns)["web-1"]
	nodes.Finish(ns, "web-1", corev1.PodFailed)
	controllertest.Eventually(t, "failed web-1 replaced", func() (bool, error) {
		p, ok := pods(t, c, ns)["web-1"]
		return ok && p.UID != old.UID, nil
	})
	if _, ok := pods(t, c, ns)["web-2"]; ok {
		t.Fatal("web-2 created while web-1 was not ready")
	}
}

func TestRestartMidRollout(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("sts-restart")
	create(t, c, statefulSet(ns, "web", 4))
	controllertest.Eventually(t, "web-1 exists", func() (bool, error) {
		_, ok := pods(t, c, ns)["web-1"]
		return ok, nil
	})
	env.RestartManager()
	waitStatus(t, c, ns, "web", want{replicas: 4, ready: 4, rolledOut: true})

	setImage(t, c, ns, "web", "nginx:1.28")
	controllertest.Eventually(t, "first pod updated", func() (bool, error) {
		p, ok := pods(t, c, ns)["web-3"]
		return ok && p.Spec.Containers[0].Image == "nginx:1.28", nil
	})
	env.StopManager()
	env.StartManager()
	set := waitStatus(t, c, ns, "web", want{replicas: 4, ready: 4, current: 4, updated: 4, revs: true, rolledOut: true})
	ps := pods(t, c, ns)
	if got := names(ps); !slices.Equal(got, []string{"web-0", "web-1", "web-2", "web-3"}) {
		t.Fatalf("pods after restarts = %v", got)
	}
	for name, p := range ps {
		if revisionOf(p) != set.Status.UpdateRevision {
			t.Errorf("%s at revision %s, want %s", name, revisionOf(p), set.Status.UpdateRevision)
		}
	}
	revs := revisions(t, c, ns, set)
	if len(revs) != 2 {
		t.Fatalf("controller revisions = %d, want 2", len(revs))
	}
}

func revisions(t *testing.T, c kubernetes.Interface, ns string, set *appsv1.StatefulSet) []appsv1.ControllerRevision {
	t.Helper()
	list, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []appsv1.ControllerRevision
	for _, r := range list.Items {
		if metav1.IsControlledBy(&r, set) {
			out = append(out, r)
		}
	}
	return out
}

func TestAdoptAndRelease(t *testing.T) {
	env, nodes := start(t)
	c := env.Client
	ns := env.Namespace("sts-adopt")
	orphan := controllertest.Pod(ns, "web-0", "web", nodes.Names()[0])
	// Both spellings of the account: the ServiceAccount admission fills
	// only serviceAccountName, which makes every later patch of the pod
	// fail validation ("changed: spec.serviceAccount") — a server bug this
	// test is not about.
	orphan.Spec.ServiceAccountName, orphan.Spec.DeprecatedServiceAccount = "default", "default"
	orphan, err := c.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// OnDelete: a RollingUpdate would replace the adopted pod, which lacks
	// the revision label (as upstream does).
	set := statefulSet(ns, "web", 1)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	set = create(t, c, set)
	controllertest.Eventually(t, "web-0 adopted", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == set.UID && p.UID == orphan.UID, fmt.Errorf("pod uid %s (orphan %s) owners %+v labels %v", p.UID, orphan.UID, p.OwnerReferences, p.Labels)
	})
	// Orphaning delete: the pod stays, without owner.
	orphanPolicy := metav1.DeletePropagationOrphan
	env.Options.Controllers = []string{"statefulset", "garbagecollector"}
	env.RestartManager()
	if err := c.AppsV1().StatefulSets(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &orphanPolicy}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "set gone, pod orphaned", func() (bool, error) {
		_, err := c.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		p, err := c.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		return err == nil && len(p.OwnerReferences) == 0, err
	})
}
