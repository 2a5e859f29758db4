package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func TestEnsureServingCert(t *testing.T) {
	defaultNames := []string{
		"localhost", "127.0.0.1", "::1",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
	}
	tests := []struct {
		name string
		// before runs first and returns the serial now on disk, if any.
		before     func(t *testing.T, dir string, ca *CA) *big.Int
		hosts      []string
		wantReused bool
		wantNames  []string // verified as DNS names or IPs against the CA
		wantErr    bool
	}{
		{
			name:      "new certificate has requested and default names",
			hosts:     []string{"skiff.example.com", "10.0.0.5", "[fd00::5]"},
			wantNames: append([]string{"skiff.example.com", "10.0.0.5", "fd00::5"}, defaultNames...),
		},
		{
			name: "second call reuses the certificate",
			before: func(t *testing.T, dir string, ca *CA) *big.Int {
				return ensureServingSerial(t, ca, dir, []string{"node-1", "10.0.0.5"})
			},
			hosts:      []string{"10.0.0.5", "NODE-1"},
			wantReused: true,
			wantNames:  append([]string{"node-1", "10.0.0.5"}, defaultNames...),
		},
		{
			name: "fewer names reuse the certificate",
			before: func(t *testing.T, dir string, ca *CA) *big.Int {
				return ensureServingSerial(t, ca, dir, []string{"node-1", "10.0.0.5"})
			},
			hosts:      nil,
			wantReused: true,
			wantNames:  append([]string{"node-1", "10.0.0.5"}, defaultNames...),
		},
		{
			name: "added DNS name regenerates",
			before: func(t *testing.T, dir string, ca *CA) *big.Int {
				return ensureServingSerial(t, ca, dir, []string{"node-1"})
			},
			hosts:     []string{"node-1", "skiff.example.com"},
			wantNames: append([]string{"node-1", "skiff.example.com"}, defaultNames...),
		},
		{
			name: "added IP regenerates",
			before: func(t *testing.T, dir string, ca *CA) *big.Int {
				return ensureServingSerial(t, ca, dir, []string{"10.0.0.5"})
			},
			hosts:     []string{"10.0.0.5", "10.0.0.6"},
			wantNames: append([]string{"10.0.0.5", "10.0.0.6"}, defaultNames...),
		},
		{
			name: "certificate from another CA regenerates",
			before: func(t *testing.T, dir string, _ *CA) *big.Int {
				other, _ := newTestCA(t, "other-ca")
				return ensureServingSerial(t, other, dir, []string{"node-1"})
			},
			hosts:     []string{"node-1"},
			wantNames: append([]string{"node-1"}, defaultNames...),
		},
		{
			name: "certificate expiring within 30 days regenerates",
			before: func(t *testing.T, dir string, ca *CA) *big.Int {
				key, keyPEM, err := newKey()
				if err != nil {
					t.Fatal(err)
				}
				tmpl := &x509.Certificate{
					Subject:     pkix.Name{CommonName: "node-1"},
					DNSNames:    append([]string{"node-1"}, defaultNames...),
					ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				}
				cert, certPEM, err := ca.issue(tmpl, key.Public(), 10*24*time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				certFile, keyFile := pairPaths(dir, "serving")
				if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
					t.Fatal(err)
				}
				return cert.SerialNumber
			},
			hosts:     []string{"node-1"},
			wantNames: append([]string{"node-1"}, defaultNames...),
		},
		{
			name:    "host with a port is refused",
			hosts:   []string{"node-1:6443"},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca, _ := newTestCA(t, "server-ca")
			dir := t.TempDir()
			var before *big.Int
			if tc.before != nil {
				before = tc.before(t, dir, ca)
			}
			certFile, keyFile, err := ca.EnsureServingCert(dir, "serving", tc.hosts)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("EnsureServingCert succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureServingCert: %v", err)
			}
			if wantCert, wantKey := pairPaths(dir, "serving"); certFile != wantCert || keyFile != wantKey {
				t.Errorf("files = %s, %s; want %s, %s", certFile, keyFile, wantCert, wantKey)
			}
			cert, err := readCertFile(certFile)
			if err != nil {
				t.Fatal(err)
			}
			if reused := before != nil && cert.SerialNumber.Cmp(before) == 0; reused != tc.wantReused {
				t.Errorf("reused = %v, want %v", reused, tc.wantReused)
			}
			for _, name := range tc.wantNames {
				opts := x509VerifyOptions(ca, x509.ExtKeyUsageServerAuth)
				opts.DNSName = name
				if _, err := cert.Verify(opts); err != nil {
					t.Errorf("verify for %q: %v", name, err)
				}
			}
			if life := time.Until(cert.NotAfter); life < 360*24*time.Hour || life > 366*24*time.Hour {
				t.Errorf("certificate valid for %s more, want about a year", life)
			}
			if _, err := readKeyFile(keyFile); err != nil {
				t.Errorf("key: %v", err)
			}
		})
	}
}

// ensureServingSerial runs EnsureServingCert for hosts and returns the serial.
func ensureServingSerial(t *testing.T, ca *CA, dir string, hosts []string) *big.Int {
	t.Helper()
	certFile, _, err := ca.EnsureServingCert(dir, "serving", hosts)
	if err != nil {
		t.Fatalf("EnsureServingCert: %v", err)
	}
	cert, err := readCertFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber
}
