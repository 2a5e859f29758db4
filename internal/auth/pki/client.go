package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"time"
)

// IssueClientCert signs a new client certificate for the user commonName in
// the groups organizations, valid for validity (a year when zero), and
// returns the certificate and its new private key, PEM-encoded.
func (ca *CA) IssueClientCert(commonName string, organizations []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, fmt.Errorf("pki: issue client cert: empty common name")
	}
	if validity < 0 {
		return nil, nil, fmt.Errorf("pki: issue client cert %s: negative validity %s", commonName, validity)
	}
	if validity == 0 {
		validity = leafValidity
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue client cert %s: %w", commonName, err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: slices.Clone(organizations)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	_, certPEM, err = ca.issue(tmpl, key.Public(), validity)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue client cert %s: %w", commonName, err)
	}
	return certPEM, keyPEM, nil
}

// EnsureClientCert returns the client certificate stored as dir/<name>.crt
// and dir/<name>.key when it was signed by this CA for exactly commonName and
// orgs and does not expire within 30 days; otherwise it issues a new one
// (valid for a year), stores it and returns it.
func (ca *CA) EnsureClientCert(dir, name, commonName string, orgs []string) (certPEM, keyPEM []byte, err error) {
	if name == "" {
		return nil, nil, fmt.Errorf("pki: ensure client cert in %s: empty name", dir)
	}
	certFile, keyFile := pairPaths(dir, name)

	ca.ensureMu.Lock()
	defer ca.ensureMu.Unlock()
	if stored, err := readPair(certFile, keyFile); err == nil &&
		ca.checkLeaf(stored.cert, stored.key, x509.ExtKeyUsageClientAuth) == nil &&
		stored.cert.Subject.CommonName == commonName &&
		sameSet(stored.cert.Subject.Organization, orgs) {
		return stored.certPEM, stored.keyPEM, nil
	}

	certPEM, keyPEM, err = ca.IssueClientCert(commonName, orgs, leafValidity)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return nil, nil, fmt.Errorf("pki: ensure client cert %s: %w", name, err)
	}
	return certPEM, keyPEM, nil
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
