package rootcacertpublisher_test

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/controller/rootcacertpublisher"
)

const testCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestPublishesRootCA(t *testing.T) {
	env := controllertest.Start(t, manager.Options{Controllers: []string{"root-ca-cert-publisher"}, RootCA: []byte(testCA)})
	ctx := context.Background()
	c := env.Client
	published := func(ns string) func() (bool, error) {
		return func() (bool, error) {
			cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil && cm.Data["ca.crt"] == testCA && len(cm.Data) == 1, err
		}
	}
	// Namespaces that existed before and new ones.
	for _, ns := range []string{"default", "kube-system", env.Namespace("ca")} {
		controllertest.Eventually(t, "kube-root-ca.crt in "+ns, published(ns))
	}

	// Edited: put back.
	ns := env.Namespace("ca-edit")
	controllertest.Eventually(t, "kube-root-ca.crt", published(ns))
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"ca.crt": "tampered", "extra": "x"}
	if _, err := c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "restored kube-root-ca.crt", published(ns))

	// Deleted: recreated.
	if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, rootcacertpublisher.ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "recreated kube-root-ca.crt", published(ns))
}
