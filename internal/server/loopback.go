package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
)

// loopback makes the client configs of the in-process components.
type loopback struct {
	certs *serverCerts
	// url is the server's own address, which the clients' request URLs name.
	url string
	// handler serves the requests (see inProcessTransport) while serving
	// lasts.
	handler http.Handler
	serving context.Context
}

// config returns a client config for an in-process component that talks
// to this server as user (in groups), like any client but without a
// socket: its requests carry a client certificate issued to user and go
// straight to the server's handler.
func (l *loopback) config(user string, groups ...string) (*rest.Config, error) {
	certPEM, _, err := l.certs.clientCA.IssueClientCert(user, groups, 365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("loopback certificate for %s: %w", user, err)
	}
	state, err := l.connectionState(certPEM)
	if err != nil {
		return nil, fmt.Errorf("loopback certificate for %s: %w", user, err)
	}
	return &rest.Config{
		Host:      l.url,
		Transport: &inProcessTransport{handler: l.handler, tls: state, serving: l.serving},
		QPS:       -1, Burst: -1,
		UserAgent: user,
	}, nil
}

// connectionState is the TLS state of a connection on which the client
// presented certPEM, verified against the client CA as the handshake
// would.
func (l *loopback) connectionState(certPEM []byte) (*tls.ConnectionState, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: l.certs.clientCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	return &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true,
		PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: chains}, nil
}
