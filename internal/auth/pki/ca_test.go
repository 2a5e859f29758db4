package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureCA(t *testing.T) {
	tests := []struct {
		name string
		// prepare leaves files in dir before EnsureCA runs.
		prepare     func(t *testing.T, dir string)
		wantErr     error
		wantAnyErr  bool
		wantCN      string
		wantReadOld bool // the CA already in dir is returned
	}{
		{
			name:   "generates when absent",
			wantCN: "skiff-server-ca@1",
		},
		{
			name: "reuses existing",
			prepare: func(t *testing.T, dir string) {
				if _, err := EnsureCA(dir, "server-ca", "skiff-server-ca@0"); err != nil {
					t.Fatal(err)
				}
			},
			wantCN:      "skiff-server-ca@0",
			wantReadOld: true,
		},
		{
			name: "replaces a key left without its certificate",
			prepare: func(t *testing.T, dir string) {
				_, keyPEM, err := newKey()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "server-ca.key"), keyPEM, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantCN: "skiff-server-ca@1",
		},
		{
			name: "refuses a certificate without its key",
			prepare: func(t *testing.T, dir string) {
				if _, err := EnsureCA(dir, "server-ca", "skiff-server-ca@0"); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(dir, "server-ca.key")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrCAKeyMissing,
		},
		{
			name: "refuses a leaf certificate",
			prepare: func(t *testing.T, dir string) {
				other, _ := newTestCA(t, "other")
				certPEM, keyPEM, err := other.IssueClientCert("someone", nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := writePair(filepath.Join(dir, "server-ca.crt"), filepath.Join(dir, "server-ca.key"), certPEM, keyPEM); err != nil {
					t.Fatal(err)
				}
			},
			wantAnyErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var old []byte
			if tc.prepare != nil {
				tc.prepare(t, dir)
				old, _ = os.ReadFile(filepath.Join(dir, "server-ca.crt"))
			}
			ca, err := EnsureCA(dir, "server-ca", "skiff-server-ca@1")
			if tc.wantErr != nil || tc.wantAnyErr {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("EnsureCA error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureCA: %v", err)
			}
			if got := ca.Cert.Subject.CommonName; got != tc.wantCN {
				t.Errorf("CommonName = %q, want %q", got, tc.wantCN)
			}
			if tc.wantReadOld && string(ca.CertPEM) != string(old) {
				t.Errorf("CertPEM differs from the stored certificate")
			}
			if !ca.Cert.IsCA {
				t.Errorf("IsCA = false")
			}
			if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
				t.Errorf("public key = %T, want ECDSA P-256", ca.Cert.PublicKey)
			}
			if life := ca.Cert.NotAfter.Sub(time.Now()); life < 9*365*24*time.Hour {
				t.Errorf("CA valid for %s more, want about ten years", life)
			}
			if _, err := ca.Cert.Verify(x509VerifyOptions(ca)); err != nil {
				t.Errorf("CA does not verify against its own pool: %v", err)
			}
			for file, wantMode := range map[string]os.FileMode{"server-ca.key": 0o600, "server-ca.crt": 0o644} {
				fi, err := os.Stat(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != wantMode {
					t.Errorf("%s mode = %v, want %v", file, fi.Mode().Perm(), wantMode)
				}
			}
			again, err := EnsureCA(dir, "server-ca", "skiff-server-ca@2")
			if err != nil {
				t.Fatalf("second EnsureCA: %v", err)
			}
			if again.Cert.SerialNumber.Cmp(ca.Cert.SerialNumber) != 0 {
				t.Errorf("second EnsureCA serial = %v, want %v (reused)", again.Cert.SerialNumber, ca.Cert.SerialNumber)
			}
		})
	}
}
