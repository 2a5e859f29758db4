package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSignCSR(t *testing.T) {
	subject := pkix.Name{CommonName: "jane", Organization: []string{"dev", "ops"}}
	valid := newCSR(t, subject, []string{"jane.example.com"})
	forged := newCSR(t, subject, nil)
	forged = forgeCSR(t, forged)

	tests := []struct {
		name         string
		csrPEM       []byte
		usages       []string
		validity     time.Duration
		wantKeyUsage x509.KeyUsage
		wantExtUsage []x509.ExtKeyUsage
		wantValidity time.Duration
		wantErr      error
	}{
		{
			name:         "defaults to client auth",
			csrPEM:       valid,
			wantKeyUsage: x509.KeyUsageDigitalSignature,
			wantExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantValidity: leafValidity,
		},
		{
			name:         "kubectl usages",
			csrPEM:       valid,
			usages:       []string{"digital signature", "key encipherment", "client auth"},
			validity:     24 * time.Hour,
			wantKeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			wantExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantValidity: 24 * time.Hour,
		},
		{
			name:         "key usage only still gets client auth",
			csrPEM:       valid,
			usages:       []string{"digital signature"},
			wantKeyUsage: x509.KeyUsageDigitalSignature,
			wantExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantValidity: leafValidity,
		},
		{name: "ca usage refused", csrPEM: valid, usages: []string{"cert sign"}, wantErr: ErrUnsupportedUsage},
		{name: "unknown usage refused", csrPEM: valid, usages: []string{"flying"}, wantErr: ErrUnsupportedUsage},
		{name: "bad signature refused", csrPEM: forged, wantErr: ErrInvalidCSR},
		{name: "not PEM refused", csrPEM: []byte("hello"), wantErr: ErrInvalidCSR},
		{name: "certificate instead of CSR refused", csrPEM: newTestCAPEM(t), wantErr: ErrInvalidCSR},
	}
	ca, _ := newTestCA(t, "client-ca")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, err := ca.SignCSR(tc.csrPEM, tc.usages, tc.validity)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("SignCSR error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SignCSR: %v", err)
			}
			cert := mustParseCertPEM(t, certPEM)
			if _, err := cert.Verify(x509VerifyOptions(ca, tc.wantExtUsage...)); err != nil {
				t.Errorf("verify: %v", err)
			}
			if cert.Subject.CommonName != subject.CommonName || !sameSet(cert.Subject.Organization, subject.Organization) {
				t.Errorf("subject = %v, want %v", cert.Subject, subject)
			}
			if cert.KeyUsage != tc.wantKeyUsage {
				t.Errorf("KeyUsage = %v, want %v", cert.KeyUsage, tc.wantKeyUsage)
			}
			if !slices.Equal(cert.ExtKeyUsage, tc.wantExtUsage) {
				t.Errorf("ExtKeyUsage = %v, want %v", cert.ExtKeyUsage, tc.wantExtUsage)
			}
			if cert.IsCA || len(cert.DNSNames) > 0 {
				t.Errorf("IsCA = %v, DNSNames = %v; want neither copied", cert.IsCA, cert.DNSNames)
			}
			if got := time.Until(cert.NotAfter); got > tc.wantValidity || got < tc.wantValidity-time.Minute {
				t.Errorf("valid for %s more, want %s", got, tc.wantValidity)
			}
		})
	}
}

// newCSR makes a PEM certificate request signed by a new ECDSA key.
func newCSR(t *testing.T, subject pkix.Name, dnsNames []string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dnsNames}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// forgeCSR swaps the public key of a request for another, so the request's
// signature no longer matches the key it claims.
func forgeCSR(t *testing.T, csrPEM []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oldPub, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	newPub, err := x509.MarshalPKIXPublicKey(other.Public())
	if err != nil {
		t.Fatal(err)
	}
	der := replaceOnce(t, block.Bytes, oldPub, newPub)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func replaceOnce(t *testing.T, data, old, new []byte) []byte {
	t.Helper()
	for i := 0; i+len(old) <= len(data); i++ {
		if string(data[i:i+len(old)]) == string(old) {
			out := slices.Clone(data)
			copy(out[i:], new)
			return out
		}
	}
	t.Fatal("public key not found in request")
	return nil
}

// newTestCAPEM returns a certificate PEM, which is not a request.
func newTestCAPEM(t *testing.T) []byte {
	t.Helper()
	ca, _ := newTestCA(t, "not-a-csr")
	return ca.CertPEM
}
