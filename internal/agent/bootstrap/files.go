package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/skiffhq/skiff/internal/auth"
)

// keyPair is a client certificate with its key.
type keyPair struct {
	certPEM, keyPEM []byte
	tls             tls.Certificate
	leaf            *x509.Certificate
}

// newKeyPair parses a PEM certificate and key that belong together.
func newKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse client certificate: %w", err)
	}
	c.Leaf = leaf
	return &keyPair{certPEM: certPEM, keyPEM: keyPEM, tls: c, leaf: leaf}, nil
}

// pkiFiles are the agent's credential files under DIR/agent/pki.
type pkiFiles struct {
	cert, key, ca string
}

func pkiFilesIn(dataDir string) pkiFiles {
	dir := filepath.Join(dataDir, "agent", "pki")
	return pkiFiles{
		cert: filepath.Join(dir, "client.crt"),
		key:  filepath.Join(dir, "client.key"),
		ca:   filepath.Join(dir, "server-ca.crt"),
	}
}

// load reads the stored CA and key pair.
func (f pkiFiles) load() ([]byte, *keyPair, error) {
	caPEM, err := os.ReadFile(f.ca)
	if err != nil {
		return nil, nil, err
	}
	if _, err := firstCert(caPEM); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.ca, err)
	}
	certPEM, err := os.ReadFile(f.cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(f.key)
	if err != nil {
		return nil, nil, err
	}
	pair, err := newKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.cert, err)
	}
	return caPEM, pair, nil
}

// save stores the CA, then the key and certificate, each atomically (key
// and certificate mode 0600). A crash between key and certificate leaves
// a pair that does not match, which load refuses, so the next start asks
// for a new certificate.
func (f pkiFiles) save(caPEM []byte, pair *keyPair) error {
	if err := os.MkdirAll(filepath.Dir(f.cert), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(f.cert), err)
	}
	if caPEM != nil {
		if err := writeAtomic(f.ca, caPEM, 0o644); err != nil {
			return err
		}
	}
	if err := writeAtomic(f.key, pair.keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(f.cert, pair.certPEM, 0o600)
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkNodeCert says why cert is not a usable client certificate of node
// with at least minRemaining of its lifetime left at now; nil if it is.
func checkNodeCert(cert *x509.Certificate, node string, minRemaining float64, now time.Time) error {
	if want := auth.NodeUserPrefix + node; cert.Subject.CommonName != want {
		return fmt.Errorf("stored certificate is for %q, not %q", cert.Subject.CommonName, want)
	}
	if !slices.Contains(cert.Subject.Organization, auth.GroupNodes) {
		return fmt.Errorf("stored certificate is not in group %s", auth.GroupNodes)
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	if left := cert.NotAfter.Sub(now); left <= 0 || float64(left) < minRemaining*float64(life) {
		return fmt.Errorf("stored certificate expires at %s", cert.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// firstCert parses the first CERTIFICATE block of data.
func firstCert(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE found")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// caHashPEM is the join-token hash of the first certificate in caPEM, or
// "" when there is none.
func caHashPEM(caPEM []byte) string {
	c, err := firstCert(caPEM)
	if err != nil {
		return ""
	}
	return auth.CAHash(c.Raw)
}
