package serviceaccount_test

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
)

func TestDefaultServiceAccount(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"serviceaccount"}})
	ctx := context.Background()
	c := env.Client

	hasDefault := func(ns string) func() (bool, error) {
		return func() (bool, error) {
			_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		}
	}
	// Namespaces that exist before the controller runs and new ones.
	for _, ns := range []string{"default", "kube-system", env.Namespace("sa")} {
		controllertest.Eventually(t, "default service account in "+ns, hasDefault(ns))
	}

	// Deleted: recreated.
	ns := env.Namespace("sa-deleted")
	controllertest.Eventually(t, "default service account", hasDefault(ns))
	if err := c.CoreV1().ServiceAccounts(ns).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "recreated default service account", hasDefault(ns))

	// Deleted while the manager is down: recreated after the restart.
	env.StopManager()
	if err := c.CoreV1().ServiceAccounts(ns).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	later := env.Namespace("sa-later")
	env.StartManager()
	controllertest.Eventually(t, "recreated default service account after restart", hasDefault(ns))
	controllertest.Eventually(t, "default service account in namespace created while down", hasDefault(later))
}
