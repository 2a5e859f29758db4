package garbagecollector_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

var ctx = context.Background()

const holdFinalizer = "example.com/hold"

func start(t *testing.T, controllers ...string) *controllertest.Env {
	t.Helper()
	return controllertest.Start(t, manager.Options{Controllers: append([]string{"garbagecollector"}, controllers...)})
}

// ownerRef points at obj as a plain (non-controller) owner.
func ownerRef(apiVersion, kind string, obj metav1.Object, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(), BlockOwnerDeletion: &block}
}

func configMap(ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners}}
}

func deleteWith(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func policy(p metav1.DeletionPropagation) metav1.DeleteOptions {
	return metav1.DeleteOptions{PropagationPolicy: &p}
}

// gone waits until get reports NotFound.
func gone(t *testing.T, what string, get func() error) {
	t.Helper()
	controllertest.Eventually(t, what+" deleted", func() (bool, error) {
		err := get()
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func podCount(t *testing.T, c kubernetes.Interface, ns string) int {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

func runningReplicaSet(t *testing.T, env *controllertest.Env, ns string, replicas int32) *appsv1.ReplicaSet {
	t.Helper()
	c := env.Client
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, controllertest.ReplicaSet(ns, "web", replicas), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "replica set running", func() (bool, error) {
		cur, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && cur.Status.ReadyReplicas == replicas, err
	})
	return rs
}

func TestBackgroundDeletesChain(t *testing.T) {
	env := start(t, "deployment", "replicaset")
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Bind: true})
	ns := env.Namespace("gc-background")

	// Deployment → ReplicaSet → pods (bound, so their deletion is graceful
	// and the node simulator finishes it).
	d := controllertest.Deployment(ns, "web", 3, intstr.FromInt32(1), intstr.FromInt32(0))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "deployment running", func() (bool, error) {
		cur, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && cur.Status.AvailableReplicas == 3, err
	})
	deleteWith(t, c.AppsV1().Deployments(ns).Delete(ctx, "web", policy(metav1.DeletePropagationBackground)))
	controllertest.Eventually(t, "replica sets and pods collected", func() (bool, error) {
		sets, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(sets.Items) == 0 && podCount(t, c, ns) == 0, nil
	})
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	env := start(t, "replicaset")
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Bind: true})
	ns := env.Namespace("gc-foreground")
	rs := runningReplicaSet(t, env, ns, 3)

	// Hold one pod with a finalizer: the ReplicaSet must wait for it.
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 3 {
		t.Fatalf("pods: %v %d", err, len(list.Items))
	}
	held := list.Items[0].Name
	patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, holdFinalizer)
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, held, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	deleteWith(t, c.AppsV1().ReplicaSets(ns).Delete(ctx, rs.Name, policy(metav1.DeletePropagationForeground)))
	controllertest.Eventually(t, "all but the held pod deleted", func() (bool, error) {
		return podCount(t, c, ns) == 1, nil
	})
	cur, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the replica set went before its held pod: %v", err)
	}
	if cur.DeletionTimestamp == nil || len(cur.Finalizers) != 1 || cur.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("replica set finalizers %v, deletionTimestamp %v", cur.Finalizers, cur.DeletionTimestamp)
	}

	// Release the pod: it goes, then the ReplicaSet.
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, held, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	gone(t, "replica set", func() error {
		_, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		return err
	})
	if n := podCount(t, c, ns); n != 0 {
		t.Fatalf("%d pods left", n)
	}
}

func TestOrphanKeepsDependents(t *testing.T) {
	env := start(t, "replicaset")
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Bind: true})
	ns := env.Namespace("gc-orphan")
	rs := runningReplicaSet(t, env, ns, 3)

	deleteWith(t, c.AppsV1().ReplicaSets(ns).Delete(ctx, rs.Name, policy(metav1.DeletePropagationOrphan)))
	gone(t, "replica set", func() error {
		_, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		return err
	})
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("%d pods left, want 3 orphans", len(list.Items))
	}
	for _, p := range list.Items {
		if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
			t.Fatalf("pod %s: ownerReferences %v, deletionTimestamp %v", p.Name, p.OwnerReferences, p.DeletionTimestamp)
		}
	}
}

// TestAnyResource uses resources no controller manages: a cluster-scoped
// owner, a namespaced owner of another kind, an owner that never existed,
// and a dependent with two owners.
func TestAnyResource(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("gc-any")

	role, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roleRef := ownerRef("rbac.authorization.k8s.io/v1", "ClusterRole", role, false)
	secretRef := ownerRef("v1", "Secret", secret, false)
	ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "00000000-0000-0000-0000-000000000001"}
	for _, cm := range []*corev1.ConfigMap{
		configMap(ns, "of-role", roleRef),
		configMap(ns, "of-secret", secretRef),
		configMap(ns, "of-both", roleRef, secretRef),
		configMap(ns, "of-ghost", ghost),
		configMap(ns, "of-ghost-and-secret", ghost, secretRef),
	} {
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	getCM := func(name string) func() error {
		return func() error {
			_, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		}
	}
	// An owner that never existed: collected; with a live owner too: the
	// dangling reference is dropped instead.
	gone(t, "dependent of a missing owner", getCM("of-ghost"))
	controllertest.Eventually(t, "dangling reference dropped", func() (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "of-ghost-and-secret", metav1.GetOptions{})
		return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == secret.UID, err
	})

	deleteWith(t, c.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}))
	gone(t, "dependent of the cluster role", getCM("of-role"))
	controllertest.Eventually(t, "reference to the deleted role dropped", func() (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "of-both", metav1.GetOptions{})
		return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == secret.UID, err
	})
	if err := getCM("of-secret")(); err != nil {
		t.Fatalf("dependent of a live owner: %v", err)
	}

	deleteWith(t, c.CoreV1().Secrets(ns).Delete(ctx, "owner", metav1.DeleteOptions{}))
	for _, name := range []string{"of-secret", "of-both", "of-ghost-and-secret"} {
		gone(t, name, getCM(name))
	}
}

func TestGarbageCollectorRestart(t *testing.T) {
	env := start(t)
	c := env.Client
	ns := env.Namespace("gc-restart")

	mk := func(name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
		t.Helper()
		cm, err := c.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, name, owners...), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	bg := mk("bg-owner")
	mk("bg-dep", ownerRef("v1", "ConfigMap", bg, false))
	fg := mk("fg-owner")
	mk("fg-dep", ownerRef("v1", "ConfigMap", fg, true))
	or := mk("orphan-owner")
	mk("orphan-dep", ownerRef("v1", "ConfigMap", or, false))
	// Owners go while the collector is down.
	env.StopManager()

	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "bg-owner", policy(metav1.DeletePropagationBackground)))
	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "fg-owner", policy(metav1.DeletePropagationForeground)))
	deleteWith(t, c.CoreV1().ConfigMaps(ns).Delete(ctx, "orphan-owner", policy(metav1.DeletePropagationOrphan)))
	env.StartManager()

	get := func(name string) func() error {
		return func() error {
			_, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		}
	}
	for _, name := range []string{"bg-dep", "fg-dep", "fg-owner", "orphan-owner"} {
		gone(t, name, get(name))
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "orphan-dep", metav1.GetOptions{})
	if err != nil || len(cm.OwnerReferences) != 0 {
		t.Fatalf("orphan-dep: %v, ownerReferences %v", err, cm.OwnerReferences)
	}
}

// TestForegroundChain deletes a Deployment in the foreground: the wait
// covers its ReplicaSet and the ReplicaSet's pods, so once the Deployment
// is gone nothing of it is left.
func TestForegroundChain(t *testing.T) {
	env := start(t, "deployment", "replicaset")
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Bind: true})
	ns := env.Namespace("gc-chain")

	d := controllertest.Deployment(ns, "web", 4, intstr.FromInt32(1), intstr.FromInt32(0))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "deployment running", func() (bool, error) {
		cur, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && cur.Status.AvailableReplicas == 4, err
	})
	deleteWith(t, c.AppsV1().Deployments(ns).Delete(ctx, "web", policy(metav1.DeletePropagationForeground)))
	gone(t, "deployment", func() error {
		_, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err
	})
	sets, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets.Items) != 0 || podCount(t, c, ns) != 0 {
		t.Fatalf("after the foreground delete: %d replica sets and %d pods left", len(sets.Items), podCount(t, c, ns))
	}
}
