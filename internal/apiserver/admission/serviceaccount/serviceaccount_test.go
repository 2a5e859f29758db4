package serviceaccount_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/apiserver/admission/serviceaccount"
	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestServiceAccountAdmission(t *testing.T) {
	// With the serviceaccount controller running, as in `skiff server`.
	srv := testserver.Start(t, func(o *server.Options) {
		o.DisableControllers = false
		o.Controllers = []string{"serviceaccount", "root-ca-cert-publisher"}
	})
	c := srv.Client
	ctx := context.Background()
	ns := "adm"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	no := false
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: &no}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string, edit func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "c", Image: "busybox"}, {Name: "d", Image: "busybox"}},
		}}
		if edit != nil {
			edit(p)
		}
		return p
	}
	create := func(p *corev1.Pod) (*corev1.Pod, error) {
		return c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	}

	t.Run("default account and token volume", func(t *testing.T) {
		// Created right after the namespace: the plugin waits for the
		// default account the controller creates.
		got, err := create(pod("plain", nil))
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.ServiceAccountName != "default" || got.Spec.DeprecatedServiceAccount != "default" {
			t.Errorf("serviceAccountName = %q, serviceAccount = %q; want default for both", got.Spec.ServiceAccountName, got.Spec.DeprecatedServiceAccount)
		}
		// Later updates (a controller adopting the pod) must not look like a
		// change of the account.
		if _, err := c.CoreV1().Pods(ns).Patch(ctx, "plain", types.MergePatchType, []byte(`{"metadata":{"labels":{"adopted":"yes"}}}`), metav1.PatchOptions{}); err != nil {
			t.Errorf("label patch of the admitted pod: %v", err)
		}
		if len(got.Spec.Volumes) != 1 {
			t.Fatalf("volumes = %+v, want one", got.Spec.Volumes)
		}
		v := got.Spec.Volumes[0]
		if !strings.HasPrefix(v.Name, "kube-api-access-") || len(v.Name) != len("kube-api-access-")+5 || v.Projected == nil {
			t.Fatalf("volume = %+v, want projected kube-api-access-xxxxx", v)
		}
		src := v.Projected.Sources
		if len(src) != 3 || src[0].ServiceAccountToken == nil || *src[0].ServiceAccountToken.ExpirationSeconds != 3607 || src[0].ServiceAccountToken.Path != "token" ||
			src[1].ConfigMap == nil || src[1].ConfigMap.Name != "kube-root-ca.crt" || src[1].ConfigMap.Items[0].Key != "ca.crt" ||
			src[2].DownwardAPI == nil || src[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
			t.Errorf("projected sources = %+v", src)
		}
		for _, cs := range [][]corev1.Container{got.Spec.InitContainers, got.Spec.Containers} {
			for _, ctr := range cs {
				if len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0].Name != v.Name || !ctr.VolumeMounts[0].ReadOnly ||
					ctr.VolumeMounts[0].MountPath != serviceaccount.DefaultAPITokenMountPath {
					t.Errorf("container %s mounts = %+v", ctr.Name, ctr.VolumeMounts)
				}
			}
		}
	})
	t.Run("missing account is refused", func(t *testing.T) {
		_, err := create(pod("ghost", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "ghost" }))
		want := `error looking up service account adm/ghost: serviceaccount "ghost" not found`
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want Forbidden %q", err, want)
		}
	})
	t.Run("automount off on the pod", func(t *testing.T) {
		got, err := create(pod("off", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &no }))
		if err != nil || len(got.Spec.Volumes) != 0 {
			t.Fatalf("pod = %+v, %v; want no volume", got, err)
		}
	})
	t.Run("automount off on the account", func(t *testing.T) {
		got, err := create(pod("quiet", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet" }))
		if err != nil || len(got.Spec.Volumes) != 0 {
			t.Fatalf("pod = %+v, %v; want no volume", got, err)
		}
	})
	t.Run("own mount at the token path is kept", func(t *testing.T) {
		got, err := create(pod("own", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "mine", MountPath: serviceaccount.DefaultAPITokenMountPath}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		if m := got.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != "mine" {
			t.Errorf("container c mounts = %+v, want only its own", m)
		}
		if m := got.Spec.Containers[1].VolumeMounts; len(m) != 1 || !strings.HasPrefix(m[0].Name, "kube-api-access-") {
			t.Errorf("container d mounts = %+v, want the token volume", m)
		}
	})
}
