// Package csrapproving approves the CertificateSigningRequests nodes make
// for their client certificates, like kube-controller-manager's
// csrapproving controller:
//
//	CSR key ─► pending (no Approved/Denied/Failed, no certificate)?
//	           signer kubernetes.io/kube-apiserver-client-kubelet?
//	           subject CN=system:node:<name>, O=system:nodes, client usages only?
//	           requested by a join token (system:bootstrappers: a new node)
//	           or by system:node:<name> itself (renewal)?
//	           ── all yes ──► condition Approved (AutoApproved) through /approval
//	           ── any no ───► left pending for a person (kubectl certificate approve)
//
// Authorization is allow-all today; once RBAC is enforced this controller
// must also check the requester may create certificatesigningrequests/
// nodeclient (new node) or selfnodeclient (renewal), as upstream does.
package csrapproving

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"

	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/csrsigning"
)

// ReasonAutoApproved is the reason on the Approved condition, as upstream.
const ReasonAutoApproved = "AutoApproved"

// Controller is the CSR approving controller.
type Controller struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	runner *controller.Runner
	log    *slog.Logger
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	inf := c.Informers.Certificates().V1().CertificateSigningRequests()
	ctl := &Controller{client: c.Client, csrs: inf.Lister(), log: c.Logger("csrapproving")}
	ctl.runner = controller.NewRunner("csrapproving", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(inf.Informer().HasSynced)
	inf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
		csr, ok := m.(*certificatesv1.CertificateSigningRequest)
		return ok && pending(csr) && csr.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName
	}))
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile approves the CSR named key when a node asks for its own
// client certificate.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	_, name := controller.SplitKey(key)
	csr, err := c.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if !pending(csr) || csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return controller.Result{}, nil
	}
	msg, ok := approvable(csr)
	if !ok {
		c.log.Debug("leaving certificate signing request pending", "csr", name, "why", msg)
		return controller.Result{}, nil
	}
	csr = csr.DeepCopy()
	now := metav1.Now()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: ReasonAutoApproved, Message: msg, LastUpdateTime: now, LastTransitionTime: now,
	})
	_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, csr, metav1.UpdateOptions{})
	if err != nil {
		return controller.Result{}, fmt.Errorf("approve %s: %w", name, err)
	}
	c.log.Info("approved node client certificate", "csr", name, "requester", csr.Spec.Username)
	return controller.Result{}, nil
}

// approvable says whether csr is a node client certificate requested by a
// join token or by that node; the string is the approval message, or why
// not.
func approvable(csr *certificatesv1.CertificateSigningRequest) (string, bool) {
	req, err := csrsigning.ParseRequest(csr.Spec.Request)
	if err != nil {
		return err.Error(), false
	}
	if err := csrsigning.ValidateForSigner(csr.Spec.SignerName, req, csr.Spec.Usages); err != nil {
		return err.Error(), false
	}
	node := req.Subject.CommonName
	switch {
	case slices.Contains(csr.Spec.Groups, auth.GroupBootstrappers):
		return fmt.Sprintf("Auto approving kubelet client certificate for %s requested with a join token (%s).", node, csr.Spec.Username), true
	case csr.Spec.Username == node && slices.Contains(csr.Spec.Groups, auth.GroupNodes):
		return fmt.Sprintf("Auto approving kubelet client certificate renewal requested by %s itself.", node), true
	default:
		return fmt.Sprintf("requester %s is neither a join token user nor %s", csr.Spec.Username, node), false
	}
}

// pending: no Approved, Denied or Failed condition and no certificate.
func pending(csr *certificatesv1.CertificateSigningRequest) bool {
	if len(csr.Status.Certificate) > 0 {
		return false
	}
	for _, cond := range csr.Status.Conditions {
		switch cond.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		}
	}
	return true
}
