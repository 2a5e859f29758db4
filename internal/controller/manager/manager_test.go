package manager_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// runManager runs a manager in the background and returns its stop.
func runManager(t *testing.T, s *testserver.Server, identity string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(ctx, s.Config, manager.Options{
			Controllers: []string{"serviceaccount"}, LeaderElection: true, Identity: identity,
		})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager %s: %v", identity, err)
			}
		case <-time.After(controllertest.Timeout):
			t.Errorf("manager %s did not stop", identity)
		}
	}
	t.Cleanup(stop)
	return stop
}

func holder(t *testing.T, s *testserver.Server) string {
	t.Helper()
	lease, err := s.Client.CoordinationV1().Leases(manager.LeaseNamespace).Get(context.Background(), manager.LeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// TestLeaderElection runs two managers: one leads and works; when it stops
// it hands the lease over at once and the other takes over the work.
func TestLeaderElection(t *testing.T) {
	s := testserver.Start(t, nil)
	c := s.Client
	ctx := context.Background()
	stopA := runManager(t, s, "manager-a")
	controllertest.Eventually(t, "manager-a leads", func() (bool, error) { return holder(t, s) == "manager-a", nil })
	runManager(t, s, "manager-b")

	hasDefaultSA := func(ns string) func() (bool, error) {
		return func() (bool, error) {
			_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, err
		}
	}
	controllertest.Eventually(t, "the leader works", hasDefaultSA("default"))
	if h := holder(t, s); h != "manager-a" {
		t.Fatalf("holder = %q while manager-a runs", h)
	}

	stopA()
	// Released before Run returned, so manager-b need not wait for the
	// lease to expire.
	if h := holder(t, s); h == "manager-a" {
		t.Fatalf("manager-a still holds the lease after stopping")
	}
	controllertest.Eventually(t, "manager-b leads", func() (bool, error) { return holder(t, s) == "manager-b", nil })
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-handover"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the new leader works", hasDefaultSA("after-handover"))
}

func TestUnknownControllerRefused(t *testing.T) {
	err := manager.Run(context.Background(), nil, manager.Options{Controllers: []string{"*", "-nosuch"}})
	if err == nil {
		t.Fatal("want an error for an unknown controller")
	}
}

func TestValidate(t *testing.T) {
	if err := (manager.Options{Controllers: []string{"*", "-podgc"}}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (manager.Options{Controllers: []string{"deploymnet"}}).Validate(); err == nil {
		t.Fatal("want an error for a misspelt controller")
	}
}
