package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiffhq/skiff/internal/auth/pki"
)

const (
	// APIServerUser is the user name of the API server's client
	// certificate for agents (upstream's kube-apiserver-kubelet-client).
	APIServerUser = "kube-apiserver-kubelet-client"
	// mastersGroup may use the agent API too.
	mastersGroup = "system:masters"
)

// authorized lets through requests with a verified client certificate of
// the API server or a system:masters user: 401 without a certificate, 403
// for anyone else.
func authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		subject := r.TLS.VerifiedChains[0][0].Subject
		if subject.CommonName != APIServerUser && !slices.Contains(subject.Organization, mastersGroup) {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)",
				subject.CommonName, verbOf(r), subresourceOf(r.URL.Path)), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verbOf names a request's verb the way the kubelet's authorizer does.
func verbOf(r *http.Request) string {
	switch r.Method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

// subresourceOf maps an agent path to the nodes subresource the kubelet
// checks for it.
func subresourceOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/stats"):
		return "stats"
	case strings.HasPrefix(path, "/metrics"):
		return "metrics"
	case strings.HasPrefix(path, "/logs"):
		return "log"
	}
	return "proxy"
}

// TLSConfig returns the agent API's TLS configuration: a serving
// certificate from a self-signed CA kept in dataDir/agent/pki (made on
// first use, valid for hosts and localhost), and client certificates
// verified against clientCAPEM (the cluster's client CA, which the server
// publishes in kube-system/extension-apiserver-authentication) when given.
// Only HTTP/1.1 is offered: exec, attach and port-forward upgrade the
// connection.
func TLSConfig(dataDir string, clientCAPEM []byte, hosts []string) (*tls.Config, error) {
	dir := filepath.Join(dataDir, "agent", "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(clientCAPEM) {
		return nil, fmt.Errorf("agent tls: no certificate in the client CA bundle")
	}
	ca, err := pki.EnsureCA(dir, "agent-ca", fmt.Sprintf("skiff-agent-ca@%d", time.Now().Unix()))
	if err != nil {
		return nil, fmt.Errorf("agent tls: %w", err)
	}
	hosts = append(slices.Clone(hosts), "localhost", "127.0.0.1")
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	certFile, keyFile, err := ca.EnsureServingCert(dir, "agent", hosts)
	if err != nil {
		return nil, fmt.Errorf("agent tls: %w", err)
	}
	cfg, err := pki.ServerTLSConfig(certFile, keyFile, pool)
	if err != nil {
		return nil, fmt.Errorf("agent tls: %w", err)
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg, nil
}
