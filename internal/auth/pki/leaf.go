package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

const (
	// leafValidity is how long generated serving and client certificates are valid.
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a stored leaf certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
)

// errLeafStale is why a stored leaf certificate is not reused.
var errLeafStale = errors.New("stale")

// issue signs tmpl for pub with the CA. It fills in the serial number and a
// validity of validity from now, never beyond the CA's own expiry.
func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey, validity time.Duration) (*x509.Certificate, []byte, error) {
	now := time.Now()
	if !now.Before(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("pki: ca %q expired at %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(validity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	der, err := x509.CreateCertificate(randReader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse signed certificate: %w", err)
	}
	return cert, encodeCert(der), nil
}

// checkLeaf reports why a stored certificate and key pair should not be
// reused: not issued by this CA, key mismatch, missing usage, or close to
// expiry. It returns nil for a pair that is good to keep.
func (ca *CA) checkLeaf(cert *x509.Certificate, key crypto.Signer, usage x509.ExtKeyUsage) error {
	if !bytes.Equal(cert.RawIssuer, ca.Cert.RawSubject) || cert.CheckSignatureFrom(ca.Cert) != nil {
		return fmt.Errorf("%w: not signed by ca %q", errLeafStale, ca.Cert.Subject.CommonName)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return fmt.Errorf("%w: certificate does not match key", errLeafStale)
	}
	if !slices.Contains(cert.ExtKeyUsage, usage) {
		return fmt.Errorf("%w: missing extended key usage %v", errLeafStale, usage)
	}
	now := time.Now()
	if now.Before(cert.NotBefore) || now.Add(renewBefore).After(cert.NotAfter) {
		return fmt.Errorf("%w: valid %s to %s", errLeafStale, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// storedPair is a certificate and key read back from disk, with the file
// contents as they are.
type storedPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// readPair loads a stored certificate and key; any error means "generate".
func readPair(certFile, keyFile string) (*storedPair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", certFile, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", keyFile, err)
	}
	return &storedPair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}
