package pki

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"testing"
	"time"
)

func TestIssueClientCert(t *testing.T) {
	tests := []struct {
		name         string
		commonName   string
		orgs         []string
		validity     time.Duration
		wantValidity time.Duration
		wantErr      bool
	}{
		{name: "admin in system:masters", commonName: "admin", orgs: []string{"system:masters"}, validity: time.Hour, wantValidity: time.Hour},
		{name: "zero validity means a year", commonName: "node:n1", orgs: []string{"system:nodes", "skiff:agents"}, wantValidity: leafValidity},
		{name: "validity capped at CA expiry", commonName: "long", validity: 20 * caValidity, wantValidity: caValidity},
		{name: "empty common name refused", wantErr: true},
		{name: "negative validity refused", commonName: "x", validity: -time.Hour, wantErr: true},
	}
	ca, _ := newTestCA(t, "client-ca")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.IssueClientCert(tc.commonName, tc.orgs, tc.validity)
			if tc.wantErr {
				if err == nil {
					t.Fatal("IssueClientCert succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueClientCert: %v", err)
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Fatalf("certificate and key do not pair: %v", err)
			}
			cert := mustParseCertPEM(t, certPEM)
			if _, err := cert.Verify(x509VerifyOptions(ca, x509.ExtKeyUsageClientAuth)); err != nil {
				t.Errorf("verify for client auth: %v", err)
			}
			if _, err := cert.Verify(x509VerifyOptions(ca, x509.ExtKeyUsageServerAuth)); err == nil {
				t.Errorf("client certificate verifies for server auth")
			}
			if cert.Subject.CommonName != tc.commonName || !sameSet(cert.Subject.Organization, tc.orgs) {
				t.Errorf("subject = %q %q, want %q %q", cert.Subject.CommonName, cert.Subject.Organization, tc.commonName, tc.orgs)
			}
			if got := time.Until(cert.NotAfter); got > tc.wantValidity || got < tc.wantValidity-time.Minute {
				t.Errorf("valid for %s more, want %s", got, tc.wantValidity)
			}
		})
	}
}

func TestEnsureClientCert(t *testing.T) {
	tests := []struct {
		name       string
		firstCN    string
		firstOrgs  []string
		secondCN   string
		secondOrgs []string
		wantReused bool
	}{
		{name: "same subject reuses", firstCN: "admin", firstOrgs: []string{"system:masters"}, secondCN: "admin", secondOrgs: []string{"system:masters"}, wantReused: true},
		{name: "org order does not matter", firstCN: "u", firstOrgs: []string{"a", "b"}, secondCN: "u", secondOrgs: []string{"b", "a"}, wantReused: true},
		{name: "changed org regenerates", firstCN: "admin", firstOrgs: []string{"system:masters"}, secondCN: "admin", secondOrgs: []string{"admins"}},
		{name: "changed user regenerates", firstCN: "admin", secondCN: "root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca, _ := newTestCA(t, "client-ca")
			dir := t.TempDir()
			first := ensureClientSerial(t, ca, dir, tc.firstCN, tc.firstOrgs)
			second := ensureClientSerial(t, ca, dir, tc.secondCN, tc.secondOrgs)
			if reused := first.Cmp(second) == 0; reused != tc.wantReused {
				t.Errorf("reused = %v, want %v", reused, tc.wantReused)
			}
			again := ensureClientSerial(t, ca, dir, tc.secondCN, tc.secondOrgs)
			if again.Cmp(second) != 0 {
				t.Errorf("third call regenerated the certificate")
			}
		})
	}
}

// ensureClientSerial runs EnsureClientCert and checks the result.
func ensureClientSerial(t *testing.T, ca *CA, dir, cn string, orgs []string) *big.Int {
	t.Helper()
	certPEM, keyPEM, err := ca.EnsureClientCert(dir, "admin", cn, orgs)
	if err != nil {
		t.Fatalf("EnsureClientCert: %v", err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	cert := mustParseCertPEM(t, certPEM)
	if cert.Subject.CommonName != cn || !sameSet(cert.Subject.Organization, orgs) {
		t.Fatalf("subject = %q %q, want %q %q", cert.Subject.CommonName, cert.Subject.Organization, cn, orgs)
	}
	return cert.SerialNumber
}
