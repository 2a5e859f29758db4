package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"slices"
	"strings"
)

// defaultServingHosts are in every serving certificate: the loopback names
// and the names the in-cluster "kubernetes" Service is reached by.
var defaultServingHosts = []string{
	"localhost",
	"127.0.0.1",
	"::1",
	"kubernetes",
	"kubernetes.default",
	"kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
}

// servingCommonName is the serving certificate's subject; clients match the
// server by its subject alternative names.
const servingCommonName = "skiff-apiserver"

// servingSANs are the subject alternative names a serving certificate needs.
type servingSANs struct {
	dnsNames []string
	ips      []net.IP
}

// EnsureServingCert makes sure dir/<name>.crt and dir/<name>.key hold a
// server certificate signed by this CA for hosts (DNS names and IP addresses,
// told apart automatically) plus the loopback and kubernetes.default names.
// A stored certificate is kept unless it lacks a requested name, was not
// signed by this CA, or expires within 30 days; a new one is valid for a year.
func (ca *CA) EnsureServingCert(dir, name string, hosts []string) (certFile, keyFile string, err error) {
	if name == "" {
		return "", "", fmt.Errorf("pki: ensure serving cert in %s: empty name", dir)
	}
	sans, err := parseServingHosts(append(slices.Clone(defaultServingHosts), hosts...))
	if err != nil {
		return "", "", fmt.Errorf("pki: ensure serving cert %s: %w", name, err)
	}
	certFile, keyFile = pairPaths(dir, name)

	ca.ensureMu.Lock()
	defer ca.ensureMu.Unlock()
	if stored, err := readPair(certFile, keyFile); err == nil &&
		ca.checkLeaf(stored.cert, stored.key, x509.ExtKeyUsageServerAuth) == nil &&
		sans.coveredBy(stored.cert) {
		return certFile, keyFile, nil
	}

	key, keyPEM, err := newKey()
	if err != nil {
		return "", "", fmt.Errorf("pki: ensure serving cert %s: %w", name, err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: servingCommonName},
		DNSNames:    sans.dnsNames,
		IPAddresses: sans.ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	_, certPEM, err := ca.issue(tmpl, key.Public(), leafValidity)
	if err != nil {
		return "", "", fmt.Errorf("pki: ensure serving cert %s: %w", name, err)
	}
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return "", "", fmt.Errorf("pki: ensure serving cert %s: %w", name, err)
	}
	return certFile, keyFile, nil
}

// parseServingHosts splits hosts into DNS names and IPs, dropping duplicates.
// IPv6 addresses may be written in brackets.
func parseServingHosts(hosts []string) (servingSANs, error) {
	var sans servingSANs
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			if !slices.ContainsFunc(sans.ips, ip.Equal) {
				sans.ips = append(sans.ips, ip)
			}
			continue
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(h) {
			return servingSANs{}, fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
		}
		if !slices.Contains(sans.dnsNames, h) {
			sans.dnsNames = append(sans.dnsNames, h)
		}
	}
	return sans, nil
}

// coveredBy reports whether cert carries every one of the names.
func (s servingSANs) coveredBy(cert *x509.Certificate) bool {
	for _, d := range s.dnsNames {
		if !slices.ContainsFunc(cert.DNSNames, func(have string) bool { return strings.EqualFold(have, d) }) {
			return false
		}
	}
	for _, ip := range s.ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// validDNSName accepts host names and wildcard names ("*.example.com").
func validDNSName(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
