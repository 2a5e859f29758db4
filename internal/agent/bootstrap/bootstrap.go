// Package bootstrap gets a node agent its API credentials: a client
// certificate for system:node:<name> (group system:nodes), obtained once
// with the cluster's join token and renewed by the node itself before it
// expires.
//
//	Bootstrap ─► DIR/agent/pki/client.{crt,key} valid for this node, not in its last 20%? ── yes ──► use it
//	             │ no
//	             GET <server>/cacerts (TLS unverified) ─► sha256(CA DER) == hash in the token? ── no ──► refuse
//	             │ yes (from here on TLS is verified against that CA)
//	             new key ─► CSR node-csr-<random> (signer kube-apiserver-client-kubelet) with the token
//	             ─► watch until status.certificate (csrapproving + csrsigning) ─► store key, cert, CA
//
//	Start (renewer) ─► at 70–90% of the certificate's life: new key, CSR as the node itself,
//	                   store, swap the pair in the transport and close old connections
//
// Glossary: join token — K10<hex sha256 of the server CA cert>::<id>.<secret>
// (see docs/joining.md); the id.secret part authenticates as
// system:bootstrap:<id> in system:bootstrappers.
package bootstrap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/auth"
)

// ErrTokenRejected is returned when the server refuses the join token.
var ErrTokenRejected = errors.New("join token rejected by the server (401)")

// ErrCAHashMismatch is returned when the server's CA is not the one the
// join token names.
var ErrCAHashMismatch = errors.New("server CA does not match the join token")

// reuseMinRemaining is the share of a stored certificate's lifetime that
// must be left for Bootstrap to reuse it.
const reuseMinRemaining = 0.2

// Options say where the server is and who this node is.
type Options struct {
	// Server is the API server URL (https://host:6443).
	Server string
	// Token is the join token (K10<ca hash>::<id>.<secret>); needed only
	// while the node has no valid certificate.
	Token string
	// DataDir is DIR: the files live in DIR/agent/pki.
	DataDir string
	// NodeName is the node; the certificate is for system:node:<NodeName>.
	NodeName string
	// ExpirationSeconds, when set, asks for certificates valid this long
	// (at least 600; the server may cap it).
	ExpirationSeconds int32
	// RenewFraction is the share of a certificate's lifetime after which it
	// is renewed; 0 picks a random share between 0.7 and 0.9.
	RenewFraction float64
	// Log is the logger; default slog.Default().
	Log *slog.Logger
}

// Config returns API credentials for the node: the stored certificate when
// still good, otherwise a new one obtained with the join token. The
// certificate is renewed in the background until ctx ends; the returned
// config keeps working across renewals.
func Config(ctx context.Context, o Options) (*rest.Config, error) {
	c, err := Bootstrap(ctx, o)
	if err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }() // Start only returns when ctx ends.
	return c.Config(), nil
}

// Credentials are a node's live client credentials.
type Credentials struct {
	o      Options
	token  *auth.JoinToken // nil without a token
	files  pkiFiles
	caPEM  []byte
	holder *certHolder
	config *rest.Config
}

// Bootstrap loads or obtains the node's certificate (see the package doc)
// without starting the renewer.
func Bootstrap(ctx context.Context, o Options) (*Credentials, error) {
	o, tok, err := o.validate()
	if err != nil {
		return nil, err
	}
	c := &Credentials{o: o, token: tok, files: pkiFilesIn(o.DataDir)}
	caPEM, pair, err := c.files.load()
	if err == nil && tok != nil && tok.CAHash != "" && tok.CAHash != caHashPEM(caPEM) {
		err = fmt.Errorf("stored CA %s is not the one the token names", c.files.ca)
	}
	if err == nil {
		err = checkNodeCert(pair.leaf, o.NodeName, reuseMinRemaining, time.Now())
	}
	if err != nil {
		o.Log.Info("requesting a node client certificate with the join token", "node", o.NodeName, "why", err)
		caPEM, pair, err = c.join(ctx)
		if err != nil {
			return nil, err
		}
	} else {
		o.Log.Info("using the stored node client certificate", "node", o.NodeName, "expires", pair.leaf.NotAfter)
	}
	c.caPEM = caPEM
	c.holder = newCertHolder(pair)
	c.config, err = c.holder.restConfig(o.Server, caPEM)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Config is a client config authenticating with the current certificate;
// it follows renewals.
func (c *Credentials) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Certificate is the current client certificate.
func (c *Credentials) Certificate() *x509.Certificate { return c.holder.current().leaf }

// CAPEM is the server CA the credentials trust, PEM-encoded.
func (c *Credentials) CAPEM() []byte { return c.caPEM }

// join fetches and checks the CA, then gets a certificate with the token.
func (c *Credentials) join(ctx context.Context) ([]byte, *keyPair, error) {
	if c.token == nil {
		return nil, nil, fmt.Errorf("no usable client certificate in %s and no join token to get one (pass --token)", filepath.Dir(c.files.cert))
	}
	if c.token.CAHash == "" {
		return nil, nil, fmt.Errorf("the join token has no CA hash, so the server cannot be verified: use the full K10<hash>::<id>.<secret> token from the server's DIR/server/token")
	}
	caPEM, err := fetchCA(ctx, c.o.Server, c.token.CAHash)
	if err != nil {
		return nil, nil, err
	}
	cfg := &rest.Config{Host: c.o.Server, BearerToken: c.token.Credential(),
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}, UserAgent: "skiff-agent-bootstrap"}
	pair, err := requestCertificate(ctx, cfg, c.o)
	if err != nil {
		return nil, nil, err
	}
	if err := c.files.save(caPEM, pair); err != nil {
		return nil, nil, err
	}
	return caPEM, pair, nil
}

// validate checks and defaults the options and parses the token.
func (o Options) validate() (Options, *auth.JoinToken, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return o, nil, fmt.Errorf("server %q: want an https:// URL such as https://10.0.0.1:6443", o.Server)
	}
	if o.NodeName == "" {
		return o, nil, errors.New("node name is required")
	}
	if o.DataDir == "" {
		return o, nil, errors.New("data dir is required")
	}
	if o.ExpirationSeconds != 0 && o.ExpirationSeconds < 600 {
		return o, nil, fmt.Errorf("certificate expiration %ds: must be at least 600 seconds", o.ExpirationSeconds)
	}
	if o.RenewFraction < 0 || o.RenewFraction >= 1 {
		return o, nil, fmt.Errorf("renew fraction %v: must be in [0, 1)", o.RenewFraction)
	}
	if o.Token == "" {
		return o, nil, nil
	}
	tok, err := auth.ParseJoinToken(o.Token)
	if err != nil {
		return o, nil, err
	}
	return o, &tok, nil
}
