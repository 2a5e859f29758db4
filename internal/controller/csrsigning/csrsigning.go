// Package csrsigning signs approved CertificateSigningRequests for the
// client signers kubernetes.io/kube-apiserver-client-kubelet and
// kubernetes.io/kube-apiserver-client with the cluster client CA, like
// kube-controller-manager's csrsigning controller.
//
//	CSR key ─► Approved, not Denied/Failed, no certificate, our signer? ── no ──► nothing
//	           │ yes
//	           request valid for the signer? ── no ──► condition Failed (SignerValidationFailure)
//	           │ yes
//	           sign for min(expirationSeconds, --cluster-signing-duration) ──► status.certificate
package csrsigning

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"

	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/auth/pki"
	"github.com/skiffhq/skiff/internal/controller"
)

// Reasons on the Failed condition, as upstream.
const (
	ReasonSignerValidationFailure = "SignerValidationFailure"
	ReasonSigningFailure          = "SigningFailure"
)

// DefaultDuration is the longest certificate the controller issues unless
// configured otherwise (kube-controller-manager's --cluster-signing-duration).
const DefaultDuration = 365 * 24 * time.Hour

// minDuration is the shortest certificate issued (spec.expirationSeconds minimum).
const minDuration = 600 * time.Second

// Config tunes the controller.
type Config struct {
	// CA signs the certificates (the cluster client CA); without one the
	// controller signs nothing.
	CA *pki.CA
	// MaxDuration caps the validity of issued certificates; default a year.
	MaxDuration time.Duration
}

// Controller is the CSR signing controller.
type Controller struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	runner *controller.Runner
	log    *slog.Logger
	cfg    Config
}

// New builds the controller on c's informers.
func New(c *controller.Context, cfg Config) *Controller {
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = DefaultDuration
	}
	inf := c.Informers.Certificates().V1().CertificateSigningRequests()
	ctl := &Controller{client: c.Client, csrs: inf.Lister(), log: c.Logger("csrsigning"), cfg: cfg}
	ctl.runner = controller.NewRunner("csrsigning", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(inf.Informer().HasSynced)
	inf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
		csr, ok := m.(*certificatesv1.CertificateSigningRequest)
		return ok && needsSigning(csr)
	}))
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if c.cfg.CA == nil {
		c.log.Warn("no signing CA configured; certificate signing requests are not signed")
		<-ctx.Done()
		return nil
	}
	return c.runner.Run(ctx)
}

// Reconcile signs the CSR named key or marks it Failed.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	_, name := controller.SplitKey(key)
	csr, err := c.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if !needsSigning(csr) {
		return controller.Result{}, nil
	}
	csr = csr.DeepCopy()
	req, err := ParseRequest(csr.Spec.Request)
	if err == nil {
		err = ValidateForSigner(csr.Spec.SignerName, req, csr.Spec.Usages)
	}
	if err != nil {
		return c.fail(ctx, csr, ReasonSignerValidationFailure, err.Error())
	}
	usages := make([]string, len(csr.Spec.Usages))
	for i, u := range csr.Spec.Usages {
		usages[i] = string(u)
	}
	cert, err := c.cfg.CA.SignCSR(csr.Spec.Request, usages, c.duration(csr))
	if errors.Is(err, pki.ErrInvalidCSR) || errors.Is(err, pki.ErrUnsupportedUsage) {
		return c.fail(ctx, csr, ReasonSignerValidationFailure, err.Error())
	}
	if err != nil {
		return c.fail(ctx, csr, ReasonSigningFailure, err.Error())
	}
	csr.Status.Certificate = cert
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return controller.Result{}, fmt.Errorf("store certificate of %s: %w", name, err)
	}
	c.log.Info("signed certificate", "csr", name, "signer", csr.Spec.SignerName, "subject", req.Subject.CommonName)
	return controller.Result{}, nil
}

// duration is the requested expiration, at least 10 minutes, capped by
// MaxDuration.
func (c *Controller) duration(csr *certificatesv1.CertificateSigningRequest) time.Duration {
	d := c.cfg.MaxDuration
	if s := csr.Spec.ExpirationSeconds; s != nil {
		d = min(max(time.Duration(*s)*time.Second, minDuration), c.cfg.MaxDuration)
	}
	return d
}

// fail adds the Failed condition with reason and message.
func (c *Controller) fail(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, reason, msg string) (controller.Result, error) {
	now := metav1.Now()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
		Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now,
	})
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return controller.Result{}, fmt.Errorf("mark %s failed: %w", csr.Name, err)
	}
	c.log.Info("refused to sign certificate", "csr", csr.Name, "reason", reason, "message", msg)
	return controller.Result{}, nil
}

// needsSigning: approved, not denied or failed, no certificate yet, and
// one of our signers.
func needsSigning(csr *certificatesv1.CertificateSigningRequest) bool {
	if len(csr.Status.Certificate) > 0 || !signs(csr.Spec.SignerName) {
		return false
	}
	approved := false
	for _, cond := range csr.Status.Conditions {
		switch cond.Type {
		case certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		case certificatesv1.CertificateApproved:
			approved = cond.Status == corev1.ConditionTrue
		}
	}
	return approved
}

func signs(signer string) bool {
	return signer == certificatesv1.KubeAPIServerClientKubeletSignerName || signer == certificatesv1.KubeAPIServerClientSignerName
}

// ParseRequest decodes a CSR's spec.request (PEM PKCS#10) and checks its
// signature.
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("spec.request is not a PEM CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse spec.request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("spec.request signature: %w", err)
	}
	return req, nil
}

// clientUsages are the usages a client signer grants.
var clientUsages = []certificatesv1.KeyUsage{
	certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth,
}

// ValidateForSigner checks a request against the rules of signer:
// client certificates only (usages within digital signature, key
// encipherment and client auth, client auth required, no subject
// alternative names), and for kube-apiserver-client-kubelet the subject
// CN=system:node:<name>, O=system:nodes.
func ValidateForSigner(signer string, req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Contains(usages, certificatesv1.UsageClientAuth) {
		return fmt.Errorf("usages %v lack %q, which signer %s requires", usages, certificatesv1.UsageClientAuth, signer)
	}
	for _, u := range usages {
		if !slices.Contains(clientUsages, u) {
			return fmt.Errorf("usage %q is not allowed for signer %s (allowed: %v)", u, signer, clientUsages)
		}
	}
	if len(req.DNSNames)+len(req.EmailAddresses)+len(req.IPAddresses)+len(req.URIs) > 0 {
		return fmt.Errorf("subject alternative names are not allowed for signer %s", signer)
	}
	if signer != certificatesv1.KubeAPIServerClientKubeletSignerName {
		if req.Subject.CommonName == "" {
			return fmt.Errorf("the subject has no common name (user) for signer %s", signer)
		}
		return nil
	}
	name, ok := strings.CutPrefix(req.Subject.CommonName, auth.NodeUserPrefix)
	if !ok || name == "" {
		return fmt.Errorf("subject common name %q must be %s<node name> for signer %s", req.Subject.CommonName, auth.NodeUserPrefix, signer)
	}
	if !slices.Equal(req.Subject.Organization, []string{auth.GroupNodes}) {
		return fmt.Errorf("subject organization %v must be exactly [%s] for signer %s", req.Subject.Organization, auth.GroupNodes, signer)
	}
	return nil
}
