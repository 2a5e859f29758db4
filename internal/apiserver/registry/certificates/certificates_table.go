package certificates

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var csrSpecDocs = certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()

var csrTable = registry.NewTable([]metav1.TableColumnDefinition{
	registry.AgeColumn,
	{Name: "SignerName", Type: "string", Description: csrSpecDocs["signerName"]},
	{Name: "Requestor", Type: "string", Description: csrSpecDocs["request"]},
	{Name: "RequestedDuration", Type: "string", Description: csrSpecDocs["expirationSeconds"]},
	{Name: "Condition", Type: "string", Description: certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
}, func(c *certificatesv1.CertificateSigningRequest, now time.Time) []interface{} {
	requested := "<none>"
	if c.Spec.ExpirationSeconds != nil {
		requested = duration.HumanDuration(time.Duration(*c.Spec.ExpirationSeconds) * time.Second)
	}
	return []interface{}{registry.Age(c.CreationTimestamp, now), registry.StringOr(c.Spec.SignerName, "<none>"),
		c.Spec.Username, requested, csrCondition(c)}
})

// csrCondition is the CONDITION cell: Denied, Approved or Pending, then
// ",Failed" and ",Issued" when they apply.
func csrCondition(c *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, cond := range c.Status.Conditions {
		switch cond.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	s := "Pending"
	switch {
	case denied:
		s = "Denied"
	case approved:
		s = "Approved"
	}
	if failed {
		s += ",Failed"
	}
	if len(c.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}
