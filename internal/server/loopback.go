package server

import (
	"fmt"
	"time"

	"k8s.io/client-go/rest"
)

// loopbackConfig returns a client config for an in-process component that
// talks to this server over HTTPS as user (in groups), like any client.
func loopbackConfig(c *serverCerts, url, user string, groups ...string) (*rest.Config, error) {
	certPEM, keyPEM, err := c.clientCA.IssueClientCert(user, groups, 365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("loopback certificate for %s: %w", user, err)
	}
	return &rest.Config{
		Host: url,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: c.serverCA.CertPEM, CertData: certPEM, KeyData: keyPEM,
		},
		QPS: -1, Burst: -1,
		UserAgent: user,
	}, nil
}
