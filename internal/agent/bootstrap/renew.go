package bootstrap

import (
	"context"
	"crypto/x509"
	"math/rand/v2"
	"time"

	"k8s.io/client-go/rest"
)

// Retry pacing after a failed renewal.
const (
	retryMin = time.Second
	retryMax = 5 * time.Minute
)

// Start renews the certificate until ctx ends: at RenewFraction of its
// lifetime (70–90% by default) it asks for a new one as the node itself
// (or with the join token once the old one has expired), stores it and
// swaps it into the transport of every client built from Config. Failures
// are logged and retried with backoff; Start returns nil when ctx ends.
func (c *Credentials) Start(ctx context.Context) error {
	retry := retryMin
	for {
		at := c.renewAt(c.Certificate())
		if !sleepUntil(ctx, at) {
			return nil
		}
		if err := c.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.o.Log.Error("renewing the node client certificate failed; retrying", "node", c.o.NodeName, "in", retry, "err", err)
			if !sleepUntil(ctx, time.Now().Add(retry)) {
				return nil
			}
			retry = min(2*retry, retryMax)
			continue
		}
		retry = retryMin
	}
}

// renewAt is when cert is due for renewal.
func (c *Credentials) renewAt(cert *x509.Certificate) time.Time {
	f := c.o.RenewFraction
	if f == 0 {
		f = 0.7 + 0.2*rand.Float64()
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotBefore.Add(time.Duration(f * float64(life)))
}

// renew gets, stores and swaps in a new certificate.
func (c *Credentials) renew(ctx context.Context) error {
	cfg := c.Config()
	if !time.Now().Before(c.Certificate().NotAfter) {
		if c.token == nil {
			c.o.Log.Warn("the node client certificate has expired and there is no join token to get a new one", "node", c.o.NodeName)
		} else {
			cfg = &rest.Config{Host: c.o.Server, BearerToken: c.token.Credential(),
				TLSClientConfig: rest.TLSClientConfig{CAData: c.caPEM}}
		}
	}
	cfg.UserAgent = "skiff-agent-certificate-renewal"
	pair, err := requestCertificate(ctx, cfg, c.o)
	if err != nil {
		return err
	}
	if err := c.files.save(nil, pair); err != nil {
		return err
	}
	c.holder.set(pair)
	c.o.Log.Info("renewed the node client certificate", "node", c.o.NodeName, "expires", pair.leaf.NotAfter)
	return nil
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
