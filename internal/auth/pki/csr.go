package pki

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"
)

var (
	// ErrInvalidCSR is returned by SignCSR for a request that does not parse
	// or whose signature does not verify.
	ErrInvalidCSR = errors.New("pki: invalid certificate signing request")
	// ErrUnsupportedUsage is returned by SignCSR for a usage it does not know
	// or will not grant (a CA usage).
	ErrUnsupportedUsage = errors.New("pki: unsupported key usage")
)

// keyUsages maps certificates.k8s.io usage strings to x509 key usages.
// "cert sign" and "crl sign" are absent on purpose: SignCSR never makes a CA.
var keyUsages = map[string]x509.KeyUsage{
	"signing":            x509.KeyUsageDigitalSignature,
	"digital signature":  x509.KeyUsageDigitalSignature,
	"content commitment": x509.KeyUsageContentCommitment,
	"key encipherment":   x509.KeyUsageKeyEncipherment,
	"key agreement":      x509.KeyUsageKeyAgreement,
	"data encipherment":  x509.KeyUsageDataEncipherment,
	"encipher only":      x509.KeyUsageEncipherOnly,
	"decipher only":      x509.KeyUsageDecipherOnly,
}

// extKeyUsages maps certificates.k8s.io usage strings to x509 extended key usages.
var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any":              x509.ExtKeyUsageAny,
	"server auth":      x509.ExtKeyUsageServerAuth,
	"client auth":      x509.ExtKeyUsageClientAuth,
	"code signing":     x509.ExtKeyUsageCodeSigning,
	"email protection": x509.ExtKeyUsageEmailProtection,
	"s/mime":           x509.ExtKeyUsageEmailProtection,
	"ipsec end system": x509.ExtKeyUsageIPSECEndSystem,
	"ipsec tunnel":     x509.ExtKeyUsageIPSECTunnel,
	"ipsec user":       x509.ExtKeyUsageIPSECUser,
	"timestamping":     x509.ExtKeyUsageTimeStamping,
	"ocsp signing":     x509.ExtKeyUsageOCSPSigning,
	"microsoft sgc":    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape sgc":     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// SignCSR signs a PEM-encoded PKCS#10 certificate signing request, as
// certificates.k8s.io does for client certificates. The request's signature
// must verify; the certificate copies its subject (user = CommonName,
// groups = Organization) and nothing else from it. usages are
// certificates.k8s.io spellings ("digital signature", "key encipherment",
// "client auth", …); without an extended usage the certificate is for client
// auth, without a key usage it is for digital signature. validity is a year
// when zero and never extends past the CA's expiry. It returns the signed
// certificate, PEM-encoded.
func (ca *CA) SignCSR(csrPEM []byte, usages []string, validity time.Duration) (certPEM []byte, err error) {
	csr, err := parseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	if validity < 0 {
		return nil, fmt.Errorf("pki: sign csr: negative validity %s", validity)
	}
	if validity == 0 {
		validity = leafValidity
	}
	keyUsage, extUsage, err := parseUsages(usages)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		// RawSubject keeps the requested subject byte for byte.
		RawSubject:  csr.RawSubject,
		KeyUsage:    keyUsage,
		ExtKeyUsage: extUsage,
	}
	_, certPEM, err = ca.issue(tmpl, csr.PublicKey, validity)
	if err != nil {
		return nil, fmt.Errorf("pki: sign csr for %q: %w", csr.Subject.CommonName, err)
	}
	return certPEM, nil
}

// parseCSR decodes a PEM certificate request and verifies its signature.
func parseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidCSR)
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("%w: PEM block type %q, want CERTIFICATE REQUEST", ErrInvalidCSR, block.Type)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCSR, err)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: RSA key of %d bits, want at least 2048", ErrInvalidCSR, k.N.BitLen())
	}
	return csr, nil
}

// parseUsages turns certificates.k8s.io usage strings into x509 usages,
// applying the client-auth defaults.
func parseUsages(usages []string) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var (
		keyUsage x509.KeyUsage
		extUsage []x509.ExtKeyUsage
	)
	for _, u := range usages {
		if ku, ok := keyUsages[u]; ok {
			keyUsage |= ku
			continue
		}
		if eku, ok := extKeyUsages[u]; ok {
			if !slices.Contains(extUsage, eku) {
				extUsage = append(extUsage, eku)
			}
			continue
		}
		return 0, nil, fmt.Errorf("%w: %q", ErrUnsupportedUsage, u)
	}
	if keyUsage == 0 {
		keyUsage = x509.KeyUsageDigitalSignature
	}
	if len(extUsage) == 0 {
		extUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return keyUsage, extUsage, nil
}
