package envvars_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/skiffhq/skiff/internal/agent/envvars"
	"github.com/skiffhq/skiff/internal/agent/objcache"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// TestSources resolves against a real API server through both sources
// the agent has, direct reads and the watch cache: objects are read
// through client-go and absent ones give the kubelet's error texts.
func TestSources(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := srv.Client.CoreV1()
	if _, err := cs.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ConfigMaps("app").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"MODE": "fast"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Secrets("app").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"token": "t0k"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Services("app").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objects := objcache.New(objcache.Options{Client: srv.Client})
	go objects.Run(ctx)
	for _, src := range []envvars.Source{objcache.Direct{Client: srv.Client}, objects} {
		t.Run(fmt.Sprintf("%T", src), func(t *testing.T) { resolveFromAPI(ctx, t, cs, src) })
	}
}

func resolveFromAPI(ctx context.Context, t *testing.T, cs corev1client.CoreV1Interface, src envvars.Source) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "app"}}
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
		Env:     []corev1.EnvVar{from("TOKEN", secretKey("creds", "token", false)), val("DSN", "pg://$(DB_SERVICE_HOST):$(DB_SERVICE_PORT_PG)")},
	}
	got, err := envvars.Resolve(ctx, src, pod, c, envvars.Runtime{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	vars := map[string]string{}
	for _, e := range got.Env {
		vars[e.Name] = e.Value
	}
	svc, err := cs.Services("app").Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vars["MODE"] != "fast" || vars["TOKEN"] != "t0k" || vars["DSN"] != "pg://"+svc.Spec.ClusterIP+":5432" || svc.Spec.ClusterIP == "" {
		t.Errorf("env = %v (db cluster IP %q)", vars, svc.Spec.ClusterIP)
	}

	for _, tc := range []struct {
		name string
		env  corev1.EnvVar
		want string
	}{
		{"missing configmap", from("X", cmKey("absent", "k", false)), `configmap "absent" not found`},
		{"missing secret", from("X", secretKey("absent", "k", false)), `secret "absent" not found`},
		{"missing key", from("X", cmKey("settings", "k", false)), "couldn't find key k in ConfigMap app/settings"},
	} {
		_, err := envvars.Resolve(ctx, src, pod, &corev1.Container{Env: []corev1.EnvVar{tc.env}}, envvars.Runtime{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Resolve error = %v, want %q", tc.name, err, tc.want)
		}
		if tc.name != "missing key" && !apierrors.IsNotFound(err) {
			t.Errorf("%s: error %v is not a NotFound", tc.name, err)
		}
	}
}
