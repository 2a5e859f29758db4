package namespace_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
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

// fill creates n ConfigMaps and n Secrets, a Service and a running
// Deployment in ns.
func fill(t *testing.T, c kubernetes.Interface, ns string, n int) {
	t.Helper()
	for i := range n {
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("secret-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: controllertest.Labels("web"), Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := controllertest.Deployment(ns, "web", 3, intstr.FromInt32(1), intstr.FromInt32(0))
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "deployment running", func() (bool, error) {
		cur, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && cur.Status.AvailableReplicas == 3, err
	})
}

func waitGone(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	controllertest.Eventually(t, "namespace "+ns+" removed", func() (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func TestDeleteNamespaceWithContent(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 2, Bind: true})
	ns := env.Namespace("ns")
	fill(t, c, ns, 50)

	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, ns)

	// Recreating the name gives an empty namespace.
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(cms.Items) != 0 {
		t.Fatalf("recreated namespace has %d configmaps (%v)", len(cms.Items), err)
	}
}

func conditionOf(ns *corev1.Namespace, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == t {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

func TestFinalizerBlocksNamespace(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	c := env.Client
	ns := env.Namespace("ns-held")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{
		corev1.NamespaceDeletionDiscoveryFailure: {Status: corev1.ConditionFalse, Reason: "ResourcesDiscovered", Message: "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {Status: corev1.ConditionFalse, Reason: "ParsedGroupVersions", Message: "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure:   {Status: corev1.ConditionFalse, Reason: "ContentDeleted", Message: "All content successfully deleted, may be waiting on finalization"},
		corev1.NamespaceContentRemaining:         {Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: configmaps. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain", Message: "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
	}
	controllertest.Eventually(t, "deletion conditions", func() (bool, error) {
		cur, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if cur.Status.Phase != corev1.NamespaceTerminating {
			return false, fmt.Errorf("phase %s", cur.Status.Phase)
		}
		for ct, w := range want {
			got := conditionOf(cur, ct)
			if got == nil || got.Status != w.Status || got.Reason != w.Reason || got.Message != w.Message {
				return false, fmt.Errorf("%s = %+v", ct, got)
			}
		}
		return true, nil
	})

	// Once the finalizer goes, so does the namespace.
	if _, err := c.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, ns)
}

func TestNamespaceDeletedWhileManagerDown(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Bind: true})
	ns := env.Namespace("ns-restart")
	fill(t, c, ns, 5)

	env.StopManager()
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.StartManager()
	waitGone(t, c, ns)
}
