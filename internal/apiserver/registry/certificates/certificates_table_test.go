package certificates

import (
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestCSRTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cols := []string{"NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"}
	m := metav1.ObjectMeta{Name: "node-csr-1", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Minute))}
	day := int32(86400)
	cond := func(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: "True"}
	}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "pending", Res: Resources()[0], WantColumns: cols,
			Obj: &certificatesv1.CertificateSigningRequest{ObjectMeta: m, Spec: certificatesv1.CertificateSigningRequestSpec{
				SignerName: "kubernetes.io/kube-apiserver-client-kubelet", Username: "system:node:n1"}},
			WantCells: []interface{}{"node-csr-1", "2m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1", "<none>", "Pending"},
		},
		{
			Name: "approved and issued, with a duration", Res: Resources()[0], WantColumns: cols,
			Obj: &certificatesv1.CertificateSigningRequest{ObjectMeta: m,
				Spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "example.com/signer", Username: "alice", ExpirationSeconds: &day},
				Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}, Certificate: []byte("PEM")}},
			WantCells: []interface{}{"node-csr-1", "2m", "example.com/signer", "alice", "24h", "Approved,Issued"},
		},
		{
			Name: "denied wins over approved; failed is added", Res: Resources()[0], WantColumns: cols,
			Obj: &certificatesv1.CertificateSigningRequest{ObjectMeta: m,
				Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
					cond(certificatesv1.CertificateApproved), cond(certificatesv1.CertificateDenied), cond(certificatesv1.CertificateFailed)}}},
			WantCells: []interface{}{"node-csr-1", "2m", "<none>", "", "<none>", "Denied,Failed"},
		},
	})
}
