package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/auth/pki"
)

// serverCerts are the CAs and TLS config of a server.
type serverCerts struct {
	serverCA *pki.CA
	clientCA *pki.CA
	tls      *tls.Config
	dir      string
}

// ensureCerts loads or creates the CAs under DIR/tls and a serving
// certificate valid for localhost, the node's addresses and --tls-san.
func ensureCerts(o Options) (*serverCerts, error) {
	dir := filepath.Join(o.DataDir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create tls dir: %w", err)
	}
	stamp := time.Now().Unix()
	serverCA, err := pki.EnsureCA(dir, "server-ca", fmt.Sprintf("skiff-server-ca@%d", stamp))
	if err != nil {
		return nil, fmt.Errorf("server CA: %w", err)
	}
	clientCA, err := pki.EnsureCA(dir, "client-ca", fmt.Sprintf("skiff-client-ca@%d", stamp))
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	hosts := append(localAddresses(), o.TLSSANs...)
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	certFile, keyFile, err := serverCA.EnsureServingCert(dir, "serving", hosts)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	cfg, err := pki.ServerTLSConfig(certFile, keyFile, clientCA.Pool())
	if err != nil {
		return nil, err
	}
	return &serverCerts{serverCA: serverCA, clientCA: clientCA, tls: cfg, dir: dir}, nil
}

// localAddresses lists this machine's unicast IP addresses.
func localAddresses() []string {
	var out []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// writeAdminKubeconfig writes DIR/admin.kubeconfig (and --write-kubeconfig)
// for a system:masters client certificate.
func writeAdminKubeconfig(o Options, c *serverCerts, url string) ([]byte, string, error) {
	certPEM, keyPEM, err := c.clientCA.EnsureClientCert(c.dir, "admin", "system:admin", []string{auth.GroupMasters})
	if err != nil {
		return nil, "", fmt.Errorf("admin certificate: %w", err)
	}
	data, err := pki.KubeconfigBytes(url, c.serverCA.CertPEM, certPEM, keyPEM, pki.DefaultContextName)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(o.DataDir, "admin.kubeconfig")
	for _, p := range []string{path, o.WriteKubeconfig} {
		if p == "" {
			continue
		}
		if err := pki.WriteKubeconfig(p, url, c.serverCA.CertPEM, certPEM, keyPEM, pki.DefaultContextName); err != nil {
			return nil, "", err
		}
	}
	return data, path, nil
}
