package bootstrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/auth"
)

// requestCertificate creates a CSR for a new key of node o.NodeName with
// cfg's credentials and waits until it is issued (or denied or failed).
func requestCertificate(ctx context.Context, cfg *rest.Config, o Options) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal node key: %w", err)
	}
	reqDER, err := x509.CreateCertificateRequest(cryptorand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: auth.NodeUserPrefix + o.NodeName, Organization: []string{auth.GroupNodes}},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-" + utilrand.String(10)},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: reqDER}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	if o.ExpirationSeconds > 0 {
		csr.Spec.ExpirationSeconds = &o.ExpirationSeconds
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	csrs := client.CertificatesV1().CertificateSigningRequests()
	created, err := csrs.Create(ctx, csr, metav1.CreateOptions{})
	if apierrors.IsUnauthorized(err) {
		return nil, ErrTokenRejected
	}
	if err != nil {
		return nil, fmt.Errorf("create certificate signing request: %w", err)
	}
	o.Log.Info("waiting for the certificate signing request to be approved and signed", "csr", created.Name,
		"hint", "kubectl certificate approve "+created.Name+" if it is not approved automatically")
	certPEM, err := waitForCertificate(ctx, client, created)
	if err != nil {
		return nil, err
	}
	return newKeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// waitForCertificate watches csr until it has a certificate, or is denied
// or failed, or ctx ends.
func waitForCertificate(ctx context.Context, client kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest) ([]byte, error) {
	csrs := client.CertificatesV1().CertificateSigningRequests()
	for {
		if cert, done, err := issued(csr); done {
			return cert, err
		}
		w, err := csrs.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", csr.Name).String(),
			ResourceVersion: csr.ResourceVersion,
		})
		if err != nil {
			return nil, fmt.Errorf("watch certificate signing request %s: %w", csr.Name, err)
		}
		next, err := nextUpdate(ctx, w, csr.Name)
		w.Stop()
		if err != nil {
			return nil, err
		}
		if next == nil {
			// The watch ended without news (closed, expired, an error
			// event): read the current state and watch again from it.
			if next, err = csrs.Get(ctx, csr.Name, metav1.GetOptions{}); err != nil {
				return nil, fmt.Errorf("read certificate signing request %s: %w", csr.Name, err)
			}
		}
		csr = next
	}
}

// nextUpdate returns the request from the next event of w, or nil when the
// watch ends without one.
func nextUpdate(ctx context.Context, w watch.Interface, name string) (*certificatesv1.CertificateSigningRequest, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for certificate signing request %s: %w", name, context.Cause(ctx))
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return nil, nil
			}
			if ev.Type == watch.Deleted {
				return nil, fmt.Errorf("certificate signing request %s was deleted before it was issued", name)
			}
			if c, isCSR := ev.Object.(*certificatesv1.CertificateSigningRequest); isCSR {
				return c, nil
			}
		}
	}
}

// issued reports whether csr is finished: with its certificate, or with an
// error for a denied or failed request.
func issued(csr *certificatesv1.CertificateSigningRequest) ([]byte, bool, error) {
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateDenied:
			return nil, true, fmt.Errorf("certificate signing request %s was denied: %s %s", csr.Name, c.Reason, c.Message)
		case certificatesv1.CertificateFailed:
			return nil, true, fmt.Errorf("certificate signing request %s failed: %s %s", csr.Name, c.Reason, c.Message)
		}
	}
	if len(csr.Status.Certificate) > 0 {
		return csr.Status.Certificate, true, nil
	}
	return nil, false, errors.New("pending")
}
