package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
)

// newTestCA creates a CA named name in a fresh temporary directory.
func newTestCA(t *testing.T, name string) (*CA, string) {
	t.Helper()
	dir := t.TempDir()
	ca, err := EnsureCA(dir, name, "skiff-"+name+"@test")
	if err != nil {
		t.Fatalf("EnsureCA(%s): %v", name, err)
	}
	return ca, dir
}

// mustParseCertPEM parses a PEM certificate or fails the test.
func mustParseCertPEM(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseCertPEM(data)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

// peerInfo is what the test server's handler saw of the client.
type peerInfo struct {
	HasCert bool     `json:"hasCert"`
	CN      string   `json:"cn"`
	Orgs    []string `json:"orgs"`
	Proto   string   `json:"proto"`
}

// peerInfoHandler answers every request with the client's certificate subject.
var peerInfoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var info peerInfo
	info.Proto = r.Proto
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		info.HasCert = true
		info.CN = r.TLS.PeerCertificates[0].Subject.CommonName
		info.Orgs = r.TLS.PeerCertificates[0].Subject.Organization
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
})

// startTLSServer serves peerInfoHandler with cfg on 127.0.0.1 and returns its
// https URL. The server stops when the test ends.
func startTLSServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: peerInfoHandler, TLSConfig: cfg}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

// x509VerifyOptions verifies against ca for any usage.
func x509VerifyOptions(ca *CA, usages ...x509.ExtKeyUsage) x509.VerifyOptions {
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	return x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: usages}
}
