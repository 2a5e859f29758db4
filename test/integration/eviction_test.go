package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

func pdb(ns, name, app string, minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:     &metav1.LabelSelector{MatchLabels: controllertest.Labels(app)},
			MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
		},
	}
}

func intOrStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

// waitBudget waits until the budget's status has been computed for its
// generation and matches want.
func waitBudget(t *testing.T, c kubernetes.Interface, ns, name string, want policyv1.PodDisruptionBudgetStatus) *policyv1.PodDisruptionBudget {
	t.Helper()
	var got *policyv1.PodDisruptionBudget
	controllertest.Eventually(t, "pdb "+name+" status", func() (bool, error) {
		var err error
		got, err = c.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		ok := s.ObservedGeneration == got.Generation && s.ExpectedPods == want.ExpectedPods &&
			s.CurrentHealthy == want.CurrentHealthy && s.DesiredHealthy == want.DesiredHealthy &&
			s.DisruptionsAllowed == want.DisruptionsAllowed
		return ok, fmt.Errorf("status %+v", s)
	})
	return got
}

// waitReady waits until n pods labelled app=app are Ready.
func waitReady(t *testing.T, c kubernetes.Interface, ns, app string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	controllertest.Eventually(t, fmt.Sprintf("%d ready pods of %s", n, app), func() (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(controllertest.Labels(app)).String(),
		})
		if err != nil {
			return false, err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					pods = append(pods, p)
				}
			}
		}
		return len(pods) == n, fmt.Errorf("%d ready", len(pods))
	})
	return pods
}

func evict(c kubernetes.Interface, ns, name string) error {
	return c.PolicyV1().Evictions(ns).Evict(context.Background(), &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
	})
}

func TestDisruptionBudgetStatus(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	nodesim.Start(t, env.Client, nodesim.Options{Count: 2, Bind: true})
	ctx := context.Background()
	ns := env.Namespace("pdb-status")
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx,
		controllertest.Deployment(ns, "web", 4, intstr.FromInt32(1), intstr.FromInt32(0)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env.Client, ns, "web", 4)

	tests := []struct {
		name                     string
		minAvailable, maxUnavail *intstr.IntOrString
		want                     policyv1.PodDisruptionBudgetStatus
	}{
		{name: "min-int", minAvailable: intOrStr("3"),
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, CurrentHealthy: 4, DesiredHealthy: 3, DisruptionsAllowed: 1}},
		{name: "min-percent", minAvailable: intOrStr("50%"),
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, CurrentHealthy: 4, DesiredHealthy: 2, DisruptionsAllowed: 2}},
		{name: "max-unavailable", maxUnavail: intOrStr("25%"),
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, CurrentHealthy: 4, DesiredHealthy: 3, DisruptionsAllowed: 1}},
		{name: "min-all", minAvailable: intOrStr("4"),
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, CurrentHealthy: 4, DesiredHealthy: 4, DisruptionsAllowed: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx,
				pdb(ns, tc.name, "web", tc.minAvailable, tc.maxUnavail), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			got := waitBudget(t, env.Client, ns, tc.name, tc.want)
			cond := apimeta.FindStatusCondition(got.Status.Conditions, policyv1.DisruptionAllowedCondition)
			wantReason := policyv1.SufficientPodsReason
			if tc.want.DisruptionsAllowed == 0 {
				wantReason = policyv1.InsufficientPodsReason
			}
			if cond == nil || cond.Reason != wantReason {
				t.Errorf("DisruptionAllowed condition = %+v, want reason %s", cond, wantReason)
			}
			if err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, tc.name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEvictionHonoursBudget(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	nodesim.Start(t, env.Client, nodesim.Options{Count: 1, Bind: true})
	ctx := context.Background()
	ns := env.Namespace("evict")
	// A ReplicaSet the test scales to 0 first would race the evictions;
	// bare pods with an integer minAvailable keep the numbers still.
	for i := range 3 {
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, fmt.Sprintf("p%d", i), "db", ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, env.Client, ns, "db", 3)
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb(ns, "db", "db", intOrStr("2"), nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBudget(t, env.Client, ns, "db", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 3, CurrentHealthy: 3, DesiredHealthy: 2, DisruptionsAllowed: 1})

	// A dry run changes nothing.
	err := env.Client.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Namespace: ns, Name: "p0"},
		DeleteOptions: &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}},
	})
	if err != nil {
		t.Fatalf("dry-run eviction: %v", err)
	}
	if p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "p0", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("pod after dry-run eviction: %v, deleting=%v", err, p.DeletionTimestamp != nil)
	}

	if err := evict(env.Client, ns, "p0"); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	got, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.DisruptionsAllowed != 0 {
		t.Errorf("disruptionsAllowed after eviction = %d, want 0", got.Status.DisruptionsAllowed)
	}

	err = evict(env.Client, ns, "p1")
	var status apierrors.APIStatus
	switch {
	case !apierrors.IsTooManyRequests(err):
		t.Fatalf("second eviction: err = %v, want 429", err)
	case !apierrors.HasStatusCause(err, policyv1.DisruptionBudgetCause):
		t.Errorf("second eviction: no %s cause in %v", policyv1.DisruptionBudgetCause, err)
	default:
		status = err.(apierrors.APIStatus)
		if msg := status.Status().Message; msg != "Cannot evict pod as it would violate the pod's disruption budget." {
			t.Errorf("second eviction message = %q", msg)
		}
	}
	if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{}); err != nil {
		t.Errorf("refused pod: %v", err)
	}
	// The evicted pod is gone (nodesim removes terminating pods) and the
	// controller settles on 2 of 2.
	waitBudget(t, env.Client, ns, "db", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 2, CurrentHealthy: 2, DesiredHealthy: 2, DisruptionsAllowed: 0})

	// Two budgets selecting one pod: upstream refuses with 500.
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb(ns, "db2", "db", nil, intOrStr("1")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = evict(env.Client, ns, "p1")
	if se, ok := err.(apierrors.APIStatus); !ok || se.Status().Code != http.StatusInternalServerError {
		t.Errorf("eviction under two budgets: err = %v, want 500", err)
	}
}

func TestEvictUnhealthyPod(t *testing.T) {
	env := controllertest.Start(t, manager.Options{})
	nodesim.Start(t, env.Client, nodesim.Options{Count: 1, Bind: true, NotReady: func(p *corev1.Pod) bool {
		return p.Name == "sick"
	}})
	ctx := context.Background()
	ns := env.Namespace("evict-unhealthy")
	for _, name := range []string{"a", "b", "sick"} {
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, controllertest.Pod(ns, name, "api", ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, env.Client, ns, "api", 2)
	controllertest.Eventually(t, "sick pod running", func() (bool, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "sick", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb(ns, "api", "api", intOrStr("2"), nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBudget(t, env.Client, ns, "api", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 3, CurrentHealthy: 2, DesiredHealthy: 2, DisruptionsAllowed: 0})

	if err := evict(env.Client, ns, "a"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evict healthy pod: err = %v, want 429", err)
	}
	if err := evict(env.Client, ns, "sick"); err != nil {
		t.Fatalf("evict unhealthy pod: %v", err)
	}
	controllertest.Eventually(t, "sick pod gone", func() (bool, error) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, "sick", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}
