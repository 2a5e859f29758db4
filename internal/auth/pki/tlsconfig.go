package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// ServerTLSConfig returns the API server's TLS configuration: TLS 1.2 or
// newer, HTTP/2 offered first, and client certificates verified against
// clientCAs when a client presents one (clients without a certificate still
// connect and authenticate some other way). A nil clientCAs disables client
// certificates. The serving pair is loaded now, so a bad pair fails here, and
// is read again when either file changes, so a renewed certificate is served
// without a restart.
func ServerTLSConfig(certFile, keyFile string, clientCAs *x509.CertPool) (*tls.Config, error) {
	r := &servingCertReloader{certFile: certFile, keyFile: keyFile}
	if err := r.reload(); err != nil {
		return nil, fmt.Errorf("pki: server tls config: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.getCertificate,
		ClientAuth:     tls.NoClientCert,
	}
	if clientCAs != nil {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		cfg.ClientCAs = clientCAs
	}
	return cfg, nil
}

// servingCertReloader serves a certificate and key pair from files, reading
// them again when their size or modification time changes.
type servingCertReloader struct {
	certFile, keyFile string

	// mu guards the fields below.
	mu sync.Mutex
	// cert is the last pair that loaded successfully.
	cert *tls.Certificate
	// certStamp and keyStamp identify the file versions cert was loaded from.
	certStamp, keyStamp fileStamp
}

// fileStamp identifies a version of a file cheaply.
type fileStamp struct {
	size    int64
	modTime time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), modTime: fi.ModTime()}, nil
}

// getCertificate is tls.Config.GetCertificate. When the files changed but do
// not form a valid pair (say, mid-renewal between the two renames), it keeps
// serving the previous pair and tries again on the next handshake.
func (r *servingCertReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	certStamp, certErr := stampOf(r.certFile)
	keyStamp, keyErr := stampOf(r.keyFile)
	if certErr == nil && keyErr == nil && (certStamp != r.certStamp || keyStamp != r.keyStamp) {
		_ = r.reloadLocked()
	}
	return r.cert, nil
}

func (r *servingCertReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *servingCertReloader) reloadLocked() error {
	certStamp, err := stampOf(r.certFile)
	if err != nil {
		return err
	}
	keyStamp, err := stampOf(r.keyFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.certStamp, r.keyStamp = &cert, certStamp, keyStamp
	return nil
}
