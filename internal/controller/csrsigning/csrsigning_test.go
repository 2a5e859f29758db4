package csrsigning_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

const timeout = 60 * time.Second

type fixture struct {
	s         *testserver.Server
	admin     kubernetes.Interface
	bootstrap kubernetes.Interface // authenticates with the join token
}

func start(t *testing.T) *fixture {
	t.Helper()
	s := testserver.Start(t, func(o *server.Options) {
		o.DisableControllers = false
		o.Controllers = []string{"csrapproving", "csrsigning"}
	})
	tok, err := server.ReadJoinToken(s.Options.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: s.URL, BearerToken: tok.Credential(),
		TLSClientConfig: rest.TLSClientConfig{CAData: s.Config.CAData}}
	return &fixture{s: s, admin: s.Client, bootstrap: kubernetes.NewForConfigOrDie(cfg)}
}

// request is a PEM CSR for subject.
func request(t *testing.T, subject pkix.Name, dns ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

var nodeSubject = pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}

func csr(name, signer string, req []byte, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: signer, Usages: usages},
	}
}

var clientUsages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}

// waitFor polls csr name until done says it is finished.
func waitFor(t *testing.T, c kubernetes.Interface, name string, done func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := c.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("csr %s: still %+v", name, got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func condition(c *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	for i := range c.Status.Conditions {
		if c.Status.Conditions[i].Type == t {
			return &c.Status.Conditions[i]
		}
	}
	return nil
}

func create(t *testing.T, c kubernetes.Interface, obj *certificatesv1.CertificateSigningRequest) {
	t.Helper()
	if _, err := c.CertificatesV1().CertificateSigningRequests().Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create csr %s: %v", obj.Name, err)
	}
}

func approve(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	cur, err := c.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions = append(cur.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "TestApproved"})
	if _, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("approve %s: %v", name, err)
	}
}

// TestNodeCSRApprovalAndSigning: a join-token user's node CSR is approved
// and signed; CSRs of other requesters or with another subject stay
// pending. The pending ones are created first: the controllers see events
// in order, so once the later good CSR is issued they have looked at them.
func TestNodeCSRApprovalAndSigning(t *testing.T) {
	f := start(t)
	signer := certificatesv1.KubeAPIServerClientKubeletSignerName
	create(t, f.admin, csr("by-admin", signer, request(t, nodeSubject), clientUsages...))
	create(t, f.bootstrap, csr("other-subject", signer, request(t, pkix.Name{CommonName: "alice", Organization: []string{"system:nodes"}}), clientUsages...))
	create(t, f.bootstrap, csr("extra-group", signer, request(t, pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes", "system:masters"}}), clientUsages...))
	create(t, f.bootstrap, csr("server-usage", signer, request(t, nodeSubject),
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth, certificatesv1.UsageServerAuth))
	create(t, f.bootstrap, csr("good", signer, request(t, nodeSubject), clientUsages...))

	good := waitFor(t, f.admin, "good", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
	a := condition(good, certificatesv1.CertificateApproved)
	if a == nil || a.Reason != "AutoApproved" || a.Status != corev1.ConditionTrue {
		t.Fatalf("good csr approval condition %+v, want AutoApproved", a)
	}
	block, _ := pem.Decode(good.Status.Certificate)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "system:node:n1" || len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("issued %s with usages %v", cert.Subject, cert.ExtKeyUsage)
	}
	for _, name := range []string{"by-admin", "other-subject", "extra-group", "server-usage"} {
		got, err := f.admin.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Status.Conditions) != 0 || len(got.Status.Certificate) != 0 {
			t.Errorf("csr %s: %+v, want pending", name, got.Status)
		}
	}
}

func TestSigning(t *testing.T) {
	f := start(t)
	tests := []struct {
		name        string
		csr         *certificatesv1.CertificateSigningRequest
		wantReason  string // Failed reason; "" wants a certificate
		wantMaxLife time.Duration
	}{
		{name: "client signer honours expirationSeconds",
			csr: withExpiration(csr("alice", certificatesv1.KubeAPIServerClientSignerName,
				request(t, pkix.Name{CommonName: "alice", Organization: []string{"dev"}}), clientUsages...), 600),
			wantMaxLife: 601 * time.Second},
		{name: "server usage refused",
			csr: csr("alice-server", certificatesv1.KubeAPIServerClientSignerName,
				request(t, pkix.Name{CommonName: "alice"}), certificatesv1.UsageClientAuth, certificatesv1.UsageServerAuth),
			wantReason: "SignerValidationFailure"},
		{name: "kubelet signer wants a node subject",
			csr: csr("not-a-node", certificatesv1.KubeAPIServerClientKubeletSignerName,
				request(t, pkix.Name{CommonName: "alice", Organization: []string{"system:nodes"}}), clientUsages...),
			wantReason: "SignerValidationFailure"},
		{name: "subject alternative names refused",
			csr: csr("with-sans", certificatesv1.KubeAPIServerClientSignerName,
				request(t, pkix.Name{CommonName: "bob"}, "bob.example.com"), clientUsages...),
			wantReason: "SignerValidationFailure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			create(t, f.admin, tc.csr)
			approve(t, f.admin, tc.csr.Name)
			got := waitFor(t, f.admin, tc.csr.Name, func(c *certificatesv1.CertificateSigningRequest) bool {
				return len(c.Status.Certificate) > 0 || condition(c, certificatesv1.CertificateFailed) != nil
			})
			if tc.wantReason != "" {
				failed := condition(got, certificatesv1.CertificateFailed)
				if failed == nil || failed.Reason != tc.wantReason || failed.Message == "" {
					t.Fatalf("status %+v, want Failed %s with a message", got.Status, tc.wantReason)
				}
				return
			}
			block, _ := pem.Decode(got.Status.Certificate)
			if block == nil {
				t.Fatalf("status %+v, want a certificate", got.Status)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if cert.NotAfter.After(time.Now().Add(tc.wantMaxLife)) {
				t.Fatalf("certificate valid until %s, want at most %s from now", cert.NotAfter, tc.wantMaxLife)
			}
		})
	}
}

func withExpiration(c *certificatesv1.CertificateSigningRequest, s int32) *certificatesv1.CertificateSigningRequest {
	c.Spec.ExpirationSeconds = &s
	return c
}

// TestRegistryRules: what the API refuses or keeps on CSR writes.
func TestRegistryRules(t *testing.T) {
	s := testserver.Start(t, nil) // no controllers: nothing moves on its own
	ctx := context.Background()
	csrs := s.Client.CertificatesV1().CertificateSigningRequests()
	short := withExpiration(csr("short", certificatesv1.KubeAPIServerClientSignerName, request(t, nodeSubject), clientUsages...), 60)
	if _, err := csrs.Create(ctx, short, metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "less than 600 seconds") {
		t.Fatalf("expirationSeconds 60: err %v, want refused", err)
	}
	garbage := csr("garbage", certificatesv1.KubeAPIServerClientSignerName, []byte("not pem"), clientUsages...)
	if _, err := csrs.Create(ctx, garbage, metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "spec.request") {
		t.Fatalf("garbage request: err %v, want refused", err)
	}
	create(t, s.Client, csr("c1", certificatesv1.KubeAPIServerClientSignerName, request(t, nodeSubject), clientUsages...))
	// The status endpoint cannot approve.
	cur, _ := csrs.Get(ctx, "c1", metav1.GetOptions{})
	cur.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	if got, err := csrs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil || condition(got, certificatesv1.CertificateApproved) != nil {
		t.Fatalf("approve through /status: err %v, conditions %+v; want ignored", err, got.Status.Conditions)
	}
	// No certificate for a request that is not approved.
	cur, _ = csrs.Get(ctx, "c1", metav1.GetOptions{})
	cur.Status.Certificate = []byte("x")
	if _, err := csrs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "approved") {
		t.Fatalf("certificate on a pending request: err %v, want refused", err)
	}
	approve(t, s.Client, "c1")
	// Approval is for good: neither removed nor turned into Denied.
	cur, _ = csrs.Get(ctx, "c1", metav1.GetOptions{})
	cur.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue}}
	if _, err := csrs.UpdateApproval(ctx, "c1", cur, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "may not remove") {
		t.Fatalf("replace Approved by Denied: err %v, want refused", err)
	}
}
