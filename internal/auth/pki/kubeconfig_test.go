package pki

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestKubeconfig(t *testing.T) {
	p := newTestPKI(t)
	tests := []struct {
		name        string
		server      string
		caPEM       []byte
		certPEM     []byte
		keyPEM      []byte
		contextName string
		wantName    string
		wantErr     bool
	}{
		{name: "default names", server: "https://127.0.0.1:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, keyPEM: p.adminKey, wantName: "skiff"},
		{name: "custom context", server: "https://skiff.example.com:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, keyPEM: p.adminKey, contextName: "lab", wantName: "lab"},
		{name: "IPv6 server", server: "https://[::1]:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, keyPEM: p.adminKey, wantName: "skiff"},
		{name: "plain http refused", server: "http://127.0.0.1:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, keyPEM: p.adminKey, wantErr: true},
		{name: "missing CA refused", server: "https://127.0.0.1:6443", certPEM: p.adminCert, keyPEM: p.adminKey, wantErr: true},
		{name: "certificate without key refused", server: "https://127.0.0.1:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, wantErr: true},
		{name: "mismatched key refused", server: "https://127.0.0.1:6443", caPEM: p.serverCA.CertPEM, certPEM: p.adminCert, keyPEM: mustReadFile(t, p.keyFile), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".kube", "config")
			err := WriteKubeconfig(path, tc.server, tc.caPEM, tc.certPEM, tc.keyPEM, tc.contextName)
			if tc.wantErr {
				if err == nil {
					t.Fatal("WriteKubeconfig succeeded, want error")
				}
				if _, statErr := os.Stat(path); statErr == nil {
					t.Error("kubeconfig written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteKubeconfig: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
			}
			data := mustReadFile(t, path)
			want, err := KubeconfigBytes(tc.server, tc.caPEM, tc.certPEM, tc.keyPEM, tc.contextName)
			if err != nil || !bytes.Equal(data, want) {
				t.Errorf("file differs from KubeconfigBytes (err %v)", err)
			}

			cfg, err := clientcmd.Load(data)
			if err != nil {
				t.Fatalf("clientcmd.Load: %v", err)
			}
			if cfg.CurrentContext != tc.wantName {
				t.Errorf("current-context = %q, want %q", cfg.CurrentContext, tc.wantName)
			}
			rest, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
			if err != nil {
				t.Fatalf("rest config: %v", err)
			}
			if rest.Host != tc.server || !bytes.Equal(rest.CAData, tc.caPEM) || !bytes.Equal(rest.CertData, tc.certPEM) || !bytes.Equal(rest.KeyData, tc.keyPEM) {
				t.Errorf("rest config host %q or embedded data differ from input", rest.Host)
			}

			if got := runKubectl(t, "--kubeconfig", path, "config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"); got != tc.server {
				t.Errorf("kubectl config view server = %q, want %q", got, tc.server)
			}
		})
	}
}

// TestKubectlTalksToServer checks the whole chain with the real kubectl: the
// kubeconfig's embedded CA trusts the serving certificate and the embedded
// admin certificate reaches the handler.
func TestKubectlTalksToServer(t *testing.T) {
	p := newTestPKI(t)
	cfg, err := ServerTLSConfig(p.certFile, p.keyFile, p.clientCA.Pool())
	if err != nil {
		t.Fatal(err)
	}
	url := startTLSServer(t, cfg)
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := WriteKubeconfig(path, url, p.serverCA.CertPEM, p.adminCert, p.adminKey, ""); err != nil {
		t.Fatal(err)
	}
	got := runKubectl(t, "--kubeconfig", path, "get", "--raw", "/whoami")
	if !strings.Contains(got, `"cn":"admin"`) || !strings.Contains(got, `"orgs":["system:masters"]`) {
		t.Errorf("server saw %s, want the admin certificate", got)
	}
}

// runKubectl runs the real kubectl with a private HOME and returns its
// trimmed output. The test is skipped when kubectl is not installed.
func runKubectl(t *testing.T, args ...string) string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	cmd := exec.Command(kubectl, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
