package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
)

// BenchmarkPodCreate creates pods like `skiff bench scheduler` does
// (protobuf in and out, no priorityClassName) through the API server's
// handler of a real server (embedded etcd, the server's admission chain,
// watch caches), without a socket: what a create costs the server's CPU
// besides TLS and HTTP/2. "dryrun" leaves storage out.
func BenchmarkPodCreate(b *testing.B) {
	api, tlsState := startBenchServer(b)
	enc := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	post := func(path string, obj runtime.Object) *httptest.ResponseRecorder {
		var body bytes.Buffer
		if err := enc.Encode(obj, &body); err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, path, &body)
		r.TLS = tlsState
		r.Header.Set("Content-Type", "application/vnd.kubernetes.protobuf")
		r.Header.Set("Accept", "application/vnd.kubernetes.protobuf,application/json")
		r.Header.Set("User-Agent", "skiff-bench/v1.32.0")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w
	}
	if w := post("/api/v1/namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}); w.Code != http.StatusCreated {
		b.Fatalf("create namespace: %d %s", w.Code, w.Body)
	}
	// The service account controller is off; the scheduler benchmark's
	// namespace has its default account.
	if w := post("/api/v1/namespaces/bench/serviceaccounts", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); w.Code != http.StatusCreated {
		b.Fatalf("create service account: %d %s", w.Code, w.Body)
	}
	for _, dry := range []bool{false, true} {
		name, path := "stored", "/api/v1/namespaces/bench/pods"
		if dry {
			name, path = "dryrun", path+"?dryRun=All"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if w := post(path, benchCreatePod(name, i)); w.Code != http.StatusCreated {
					b.Fatalf("create pod: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// benchCreatePod is like the scheduler benchmark's pods: requests, labels,
// a node selector.
func benchCreatePod(prefix string, i int) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), i),
			Labels: map[string]string{"skiff.dev/bench": "true", "app": fmt.Sprint("bench-web-", i/50)}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"skiff.dev/bench": "true"},
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
		},
	}
}

// startBenchServer runs a server like testserver does (no scheduler,
// controllers or agent) and returns its API handler and the TLS state of
// an admin connection.
func startBenchServer(b *testing.B) (http.Handler, *tls.ConnectionState) {
	b.Helper()
	o := DefaultOptions()
	o.DataDir, o.BindAddress, o.HTTPSPort = b.TempDir(), "127.0.0.1", 0
	o.DisableAgent, o.DisableScheduler, o.DisableControllers = true, true, true
	ready := make(chan *Running, 1)
	o.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("server: %v", err)
		}
	})
	var running *Running
	select {
	case running = <-ready:
	case err := <-done:
		b.Fatalf("server exited: %v", err)
	case <-time.After(60 * time.Second):
		b.Fatal("server not ready after 60s")
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(running.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode(cfg.CertData)
	if block == nil {
		b.Fatal("no client certificate in the admin kubeconfig")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	// The handler trusts chains the handshake verified; this one stands
	// for it.
	state := &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true,
		PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}}
	return running.API, state
}
