package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox:1.36"}}},
			},
		},
	}
}

func TestCRUDAcrossTypes(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	c := s.Client

	t.Run("configmap create get update delete", func(t *testing.T) {
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
			t.Fatalf("server-owned metadata missing: %+v", cm.ObjectMeta)
		}
		cm.Data["b"] = "2"
		up, err := c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if up.ResourceVersion == cm.ResourceVersion {
			t.Errorf("resourceVersion did not change on update")
		}
		got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "cfg", metav1.GetOptions{})
		if err != nil || got.Data["b"] != "2" {
			t.Fatalf("get after update: %v %v", got, err)
		}
		if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "cfg", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = c.CoreV1().ConfigMaps("default").Get(ctx, "cfg", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("want NotFound after delete, got %v", err)
		}
	})

	t.Run("deployment defaults, generation and scale", func(t *testing.T) {
		d, err := c.AppsV1().Deployments("default").Create(ctx, deployment("web"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if d.Generation != 1 || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Fatalf("want generation 1 and defaulted replicas 1, got %d %v", d.Generation, d.Spec.Replicas)
		}
		if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("strategy not defaulted: %q", d.Spec.Strategy.Type)
		}
		if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
			t.Errorf("template restartPolicy not defaulted: %q", d.Spec.Template.Spec.RestartPolicy)
		}
		d.Labels = map[string]string{"x": "y"}
		d, err = c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update labels: %v", err)
		}
		if d.Generation != 1 {
			t.Errorf("metadata-only update bumped generation to %d", d.Generation)
		}
		sc, err := c.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get scale: %v", err)
		}
		sc.Spec.Replicas = 5
		if _, err := c.AppsV1().Deployments("default").UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update scale: %v", err)
		}
		d, err = c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 5 || d.Generation != 2 {
			t.Fatalf("want replicas 5 generation 2, got %v %v (%v)", d.Spec.Replicas, d.Generation, err)
		}
	})

	t.Run("status subresource is split from spec", func(t *testing.T) {
		d, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Status.Replicas = 7
		d.Spec.Paused = true
		d, err = c.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update status: %v", err)
		}
		if d.Status.Replicas != 7 || d.Spec.Paused {
			t.Fatalf("status update must change status only: replicas=%d paused=%v", d.Status.Replicas, d.Spec.Paused)
		}
		d.Status.Replicas = 0
		d.Spec.Paused = true
		d, err = c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if d.Status.Replicas != 7 || !d.Spec.Paused {
			t.Fatalf("main update must not change status: replicas=%d paused=%v", d.Status.Replicas, d.Spec.Paused)
		}
	})

	t.Run("generateName", func(t *testing.T) {
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if !strings.HasPrefix(cm.Name, "gen-") || len(cm.Name) != len("gen-")+5 {
			t.Fatalf("generated name %q", cm.Name)
		}
	})

	t.Run("patch types", func(t *testing.T) {
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "p"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			pt    types.PatchType
			patch string
			key   string
			want  string
		}{
			{"merge", types.MergePatchType, `{"data":{"m":"merge"}}`, "m", "merge"},
			{"strategic", types.StrategicMergePatchType, `{"data":{"s":"smp"}}`, "s", "smp"},
			{"json", types.JSONPatchType, `[{"op":"add","path":"/data/j","value":"json"}]`, "j", "json"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cm, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "p", tc.pt, []byte(tc.patch), metav1.PatchOptions{})
				if err != nil {
					t.Fatalf("patch: %v", err)
				}
				if cm.Data[tc.key] != tc.want || cm.Data["a"] != "1" {
					t.Fatalf("data after patch: %v", cm.Data)
				}
			})
		}
	})

	t.Run("namespace must exist", func(t *testing.T) {
		_, err := c.CoreV1().ConfigMaps("nope").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `namespaces "nope" not found`) {
			t.Fatalf("want namespaces not found, got %v", err)
		}
	})

	t.Run("finalizers hold deletion", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fin", Finalizers: []string{"example.com/hold"}}}
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "fin", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "fin", metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil {
			t.Fatalf("want object marked for deletion, got %v %v", got, err)
		}
		got.Finalizers = nil
		if _, err := c.CoreV1().ConfigMaps("default").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("remove finalizer: %v", err)
		}
		if _, err := c.CoreV1().ConfigMaps("default").Get(ctx, "fin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("want object gone after last finalizer, got %v", err)
		}
	})

	t.Run("delete preconditions", func(t *testing.T) {
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CoreV1().ConfigMaps("default").Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("other"))}})
		if !apierrors.IsConflict(err) {
			t.Fatalf("want Conflict for wrong uid, got %v", err)
		}
		if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID}}); err != nil {
			t.Fatalf("delete with right uid: %v", err)
		}
	})

	t.Run("dry run stores nothing", func(t *testing.T) {
		_, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().ConfigMaps("default").Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry-run create was stored: %v", err)
		}
	})

	t.Run("pods defaulted and graceful on nodes", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1"},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		got, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != corev1.PodPending || got.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("pod status: %+v", got.Status)
		}
		if got.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
			t.Errorf("image without tag should default to Always, got %q", got.Spec.Containers[0].ImagePullPolicy)
		}
		if err := c.CoreV1().Pods("default").Delete(ctx, "p1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err = c.CoreV1().Pods("default").Get(ctx, "p1", metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 30 {
			t.Fatalf("want pod on a node marked with grace 30, got %v", err)
		}
		if err := c.CoreV1().Pods("default").Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods("default").Get(ctx, "p1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("want pod gone after grace 0, got %v", err)
		}
	})

	t.Run("services get a cluster IP", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
		got, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.Spec.ClusterIP, "10.96.") || got.Spec.Ports[0].TargetPort.IntValue() != 80 {
			t.Fatalf("service not allocated/defaulted: %+v", got.Spec)
		}
		k, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil || k.Spec.ClusterIP != "10.96.0.1" {
			t.Fatalf("default/kubernetes service: %v %v", k, err)
		}
	})
}

func TestConflicts(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dup := cm.DeepCopy()
	dup.ResourceVersion = ""
	if _, err := cms.Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}
	stale := cm.DeepCopy()
	cm.Data = map[string]string{"k": "v1"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data = map[string]string{"k": "v2"}
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want Conflict, got %v", err)
	}
	want := `Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again`
	if err.Error() != want {
		t.Errorf("conflict message\n got: %s\nwant: %s", err, want)
	}
	// Concurrent unconditional patches all land.
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			_, err := cms.Patch(ctx, "c", types.MergePatchType, []byte(fmt.Sprintf(`{"data":{"k%d":"x"}}`, i)), metav1.PatchOptions{})
			errs <- err
		}(i)
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent patch: %v", err)
		}
	}
	got, err := cms.Get(ctx, "c", metav1.GetOptions{})
	if err != nil || len(got.Data) != 21 {
		t.Fatalf("want 21 keys after concurrent patches, got %d (%v)", len(got.Data), err)
	}
}

func TestNamespaceDeletionWaitsForFinalize(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	nss := s.Client.CoreV1().Namespaces()
	ns, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes || ns.Labels[corev1.LabelMetadataName] != "gone" {
		t.Fatalf("namespace defaults: %+v %v", ns.Spec, ns.Labels)
	}
	if err := nss.Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err = nss.Get(ctx, "gone", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("want Terminating, got %v %v", ns, err)
	}
	// A status update by a controller does not bring the finalizer back or remove the namespace.
	ns.Status.Conditions = []corev1.NamespaceCondition{{Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionFalse}}
	if ns, err = nss.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nss.Get(ctx, "gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("want namespace gone after finalize, got %v", err)
	}
	if err := nss.Delete(ctx, "kube-system", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("deleting kube-system: want Forbidden, got %v", err)
	}
}
