package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/connrotation"
)

// certHolder hands the current client certificate to TLS handshakes and
// closes the connections made with an older one when it changes.
type certHolder struct {
	dialer *connrotation.Dialer

	// mu guards pair.
	mu   sync.RWMutex
	pair *keyPair
}

func newCertHolder(pair *keyPair) *certHolder {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &certHolder{pair: pair, dialer: connrotation.NewDialer(d.DialContext)}
}

func (h *certHolder) current() *keyPair {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.pair
}

// set swaps in a new pair and closes every connection, so the next
// requests handshake with it.
func (h *certHolder) set(p *keyPair) {
	h.mu.Lock()
	h.pair = p
	h.mu.Unlock()
	h.dialer.CloseAll()
}

// getClientCertificate is the tls.Config hook.
func (h *certHolder) getClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	p := h.current()
	return &p.tls, nil
}

// restConfig is a client config for server whose transport verifies the
// server against caPEM and presents the holder's current certificate.
// client-go uses a config's Transport as given (no transport cache), so
// every client built from copies of it shares the rotation.
func (h *certHolder) restConfig(server string, caPEM []byte) (*rest.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("server CA: no certificate in PEM data")
	}
	tlsCfg := &tls.Config{
		RootCAs:              pool,
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: h.getClientCertificate,
	}
	rt := utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: 25,
		DialContext:         h.dialer.DialContext,
	})
	return &rest.Config{Host: server, Transport: rt, UserAgent: "skiff-agent"}, nil
}
