// Package agenttest sets up what the agent API serves, for tests: pods
// started straight through CRI with the labels the pod workers use, and
// the agent API on a TLS listener with client certificates.
package agenttest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/server"
	"github.com/skiffhq/skiff/internal/auth/pki"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// Pod is a pod sandbox on the host network, run through CRI.
type Pod struct {
	Namespace, Name, UID string
	SandboxID            string
	Config               *runtimeapi.PodSandboxConfig
	Runtime              cri.Runtime
}

// StartPod runs a host-network sandbox labelled as pod namespace/name,
// with its logs under dir.
func StartPod(t testing.TB, rt cri.Runtime, dir, namespace, name string) *Pod {
	t.Helper()
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	p := &Pod{Namespace: namespace, Name: name, UID: uid, Runtime: rt}
	p.Config = &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: uid},
		LogDirectory: filepath.Join(dir, "pods", uid),
		Labels:       map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: namespace, cri.LabelPodUID: uid},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := rt.RunPodSandbox(ctx, p.Config, "")
	if err != nil {
		t.Fatalf("RunPodSandbox %s/%s: %v", namespace, name, err)
	}
	p.SandboxID = id
	return p
}

// RunContainer creates and starts instance restart of container name
// running busybox command, and returns its ID.
func (p *Pod) RunContainer(t testing.TB, name string, restart int, command ...string) string {
	t.Helper()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name, Attempt: uint32(restart)},
		Image:    &runtimeapi.ImageSpec{Image: images.BusyboxImageRef},
		Command:  command,
		LogPath:  filepath.Join(name, strconv.Itoa(restart)+".log"),
		Labels: map[string]string{cri.LabelPodName: p.Name, cri.LabelPodNamespace: p.Namespace,
			cri.LabelPodUID: p.UID, cri.LabelContainerName: name},
		Annotations: map[string]string{cri.AnnotationRestartCount: strconv.Itoa(restart)},
		Stdin:       true,
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := p.Runtime.CreateContainer(ctx, p.SandboxID, cfg, p.Config)
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if err := p.Runtime.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer %s: %v", name, err)
	}
	return id
}

// WaitContainer waits until container id is in state want.
func WaitContainer(t testing.TB, rt cri.Runtime, id string, want runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	t.Helper()
	var st *runtimeapi.ContainerStatus
	crinode.WaitFor(t, time.Minute, "container "+id+" to be "+want.String(), func(ctx context.Context) (bool, error) {
		var err error
		st, err = rt.ContainerStatus(ctx, id)
		return err == nil && st.GetState() == want, err
	})
	return st
}

// Object returns the Pod object of p with containers named names.
func (p *Pod) Object(nodeName string, names ...string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: types.UID(p.UID)},
		Spec: corev1.PodSpec{NodeName: nodeName, HostNetwork: true}}
	for _, n := range names {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: n, Image: images.BusyboxImageRef})
	}
	return pod
}

// Agent is the agent API served on a loopback TLS listener.
type Agent struct {
	URL  string
	Port int
	// ClientCA issues client certificates (ClientCert, ClientTLS,
	// RESTConfig); the test sets it.
	ClientCA *pki.CA
}

// NewClientCA makes a client CA in dir for tests that issue their own
// client certificates.
func NewClientCA(t testing.TB, dir string) *pki.CA {
	t.Helper()
	ca, err := pki.EnsureCA(filepath.Join(dir, "client-ca"), "client-ca", "test-client-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Serve serves h with the agent's TLS configuration (server.TLSConfig in
// dir), accepting client certificates signed by the CAs in clientCAPEM.
func Serve(t testing.TB, dir string, h http.Handler, clientCAPEM []byte) *Agent {
	t.Helper()
	cfg, err := server.TLSConfig(dir, clientCAPEM, []string{"127.0.0.1"})
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Agent{URL: srv.URL, Port: srv.Listener.Addr().(*net.TCPAddr).Port}
}

// ClientTLS returns a client TLS config with a certificate for user in
// groups, not verifying the agent's self-signed certificate.
func (a *Agent) ClientTLS(t testing.TB, user string, groups ...string) *tls.Config {
	t.Helper()
	certPEM, keyPEM := a.ClientCert(t, user, groups...)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true} //nolint:gosec // self-signed agent
}

// ClientCert issues a client certificate for user in groups, PEM-encoded.
func (a *Agent) ClientCert(t testing.TB, user string, groups ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := a.ClientCA.IssueClientCert(user, groups, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

// RESTConfig is a client config for the agent as user in groups.
func (a *Agent) RESTConfig(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	certPEM, keyPEM := a.ClientCert(t, user, groups...)
	return &rest.Config{Host: a.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertData: certPEM, KeyData: keyPEM}}
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
