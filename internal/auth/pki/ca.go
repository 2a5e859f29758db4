package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	// caValidity is how long a generated CA certificate is valid.
	caValidity = 10 * 365 * 24 * time.Hour
	// backdate is how far NotBefore is set in the past, so that nodes with a
	// slightly slow clock accept a freshly issued certificate.
	backdate = time.Hour
)

// ErrCAKeyMissing is returned by EnsureCA when a CA certificate exists on disk
// without its private key. The CA is not regenerated in that case, because
// every certificate it signed would stop verifying.
var ErrCAKeyMissing = errors.New("pki: ca certificate exists but its key is missing")

// CA is a certificate authority whose certificate and key live in a directory.
// It signs serving certificates or client certificates.
type CA struct {
	// Cert is the CA's self-signed certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert, PEM-encoded, as clients embed it (kubeconfig
	// certificate-authority-data, client-ca bundles).
	CertPEM []byte

	// ensureMu serializes the Ensure* methods so that a certificate and key
	// pair on disk always comes from a single call.
	ensureMu sync.Mutex
}

// EnsureCA loads the CA stored as dir/<name>.crt and dir/<name>.key, or, when
// the certificate does not exist yet, generates a new self-signed ECDSA P-256
// CA named commonName, valid for ten years, and writes it there.
func EnsureCA(dir, name, commonName string) (*CA, error) {
	if name == "" {
		return nil, fmt.Errorf("pki: ensure ca in %s: empty name", dir)
	}
	certFile, keyFile := pairPaths(dir, name)
	cert, certErr := readCertFile(certFile)
	switch {
	case certErr == nil:
		key, err := readKeyFile(keyFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s (remove %s to generate a new ca)", ErrCAKeyMissing, keyFile, certFile)
		}
		if err != nil {
			return nil, fmt.Errorf("load ca %s: %w", name, err)
		}
		return loadedCA(cert, key, certFile)
	case errors.Is(certErr, os.ErrNotExist):
		// A key without its certificate is left over from an interrupted
		// generation; nothing can have been signed with it, so replace it.
		if commonName == "" {
			return nil, fmt.Errorf("pki: generate ca %s: empty common name", name)
		}
		return generateCA(certFile, keyFile, commonName)
	default:
		return nil, fmt.Errorf("load ca %s: %w", name, certErr)
	}
}

// Pool returns a new certificate pool holding only this CA, for use as
// tls.Config RootCAs (server CA) or ClientCAs (client CA).
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// loadedCA checks a CA read from disk before it is used to sign anything.
func loadedCA(cert *x509.Certificate, key crypto.Signer, certFile string) (*CA, error) {
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("pki: %s is not a ca certificate", certFile)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("pki: %s does not match its key", certFile)
	}
	if now := time.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("pki: ca %s expired at %s", certFile, cert.NotAfter.Format(time.RFC3339))
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert.Raw)}, nil
}

// generateCA creates a new self-signed CA and writes it, key first.
func generateCA(certFile, keyFile, commonName string) (*CA, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate ca %s: %w", commonName, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("generate ca %s: %w", commonName, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(randReader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("generate ca %s: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("generate ca %s: %w", commonName, err)
	}
	certPEM := encodeCert(der)
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("generate ca %s: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

// pairPaths names the certificate and key files of name in dir.
func pairPaths(dir, name string) (certFile, keyFile string) {
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
}
