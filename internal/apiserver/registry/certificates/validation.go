package certificates

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// MinExpirationSeconds is the shortest spec.expirationSeconds accepted.
const MinExpirationSeconds = 600

// knownUsages are the key usages certificates.k8s.io accepts.
var knownUsages = sets.New[string](
	"signing", "digital signature", "content commitment", "key encipherment", "key agreement",
	"data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
	"server auth", "client auth", "code signing", "email protection", "s/mime",
	"ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
	"microsoft sgc", "netscape sgc",
)

// validateCSR checks a new request: a parseable PEM certificate request,
// a qualified signer name, known usages and a sane expiration.
func validateCSR(c *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validation.ValidateObjectMetaFor(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	spec := field.NewPath("spec")
	if err := checkRequest(c.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), "", err.Error()))
	}
	switch {
	case c.Spec.SignerName == "":
		errs = append(errs, field.Required(spec.Child("signerName"), ""))
	default:
		for _, msg := range validateSignerName(c.Spec.SignerName) {
			errs = append(errs, field.Invalid(spec.Child("signerName"), c.Spec.SignerName, msg))
		}
	}
	if len(c.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), "usages must be provided"))
	}
	seen := sets.New[string]()
	for i, u := range c.Spec.Usages {
		p := spec.Child("usages").Index(i)
		if !knownUsages.Has(string(u)) {
			errs = append(errs, field.NotSupported(p, u, sets.List(knownUsages)))
		}
		if seen.Has(string(u)) {
			errs = append(errs, field.Duplicate(p, u))
		}
		seen.Insert(string(u))
	}
	if s := c.Spec.ExpirationSeconds; s != nil && *s < MinExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *s,
			fmt.Sprintf("may not specify a duration less than %d seconds (10 minutes)", MinExpirationSeconds)))
	}
	return errs
}

// checkRequest parses a PEM CERTIFICATE REQUEST and checks its signature.
func checkRequest(data []byte) error {
	block, rest := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("must be a PEM-encoded CERTIFICATE REQUEST")
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return fmt.Errorf("PEM block type must be CERTIFICATE REQUEST, not %s", block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return fmt.Errorf("must contain exactly one PEM block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return fmt.Errorf("parse certificate request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("certificate request signature: %v", err)
	}
	return nil
}

// validateSignerName wants "<domain>/<path>" with a DNS subdomain domain.
func validateSignerName(name string) []string {
	domain, path, ok := strings.Cut(name, "/")
	if !ok || path == "" {
		return []string{"must be a fully qualified domain and path of the form 'example.com/signer-name'"}
	}
	return utilvalidation.IsDNS1123Subdomain(domain)
}

// prepareForSubresourceUpdate keeps what each endpoint may not change: the
// status endpoint cannot touch the Approved and Denied conditions, the
// approval endpoint cannot touch the certificate.
func prepareForSubresourceUpdate(sub string, c, old *certificatesv1.CertificateSigningRequest) {
	switch sub {
	case "status":
		var conds []certificatesv1.CertificateSigningRequestCondition
		for _, cond := range c.Status.Conditions {
			if !isApprovalType(cond.Type) {
				conds = append(conds, cond)
			}
		}
		for _, cond := range old.Status.Conditions {
			if isApprovalType(cond.Type) {
				conds = append(conds, cond)
			}
		}
		c.Status.Conditions = conds
	case "approval":
		c.Status.Certificate = old.Status.Certificate
	}
}

func isApprovalType(t certificatesv1.RequestConditionType) bool {
	return t == certificatesv1.CertificateApproved || t == certificatesv1.CertificateDenied
}

// validateStatusUpdate checks conditions and the certificate: Approved
// and Denied exclude each other and, once set, stay; a certificate is
// issued once, to an approved request, and never changed.
func validateStatusUpdate(c, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validation.ValidateObjectMetaFor(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	path := field.NewPath("status", "conditions")
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, cond := range c.Status.Conditions {
		p := path.Index(i)
		switch {
		case cond.Type == "":
			errs = append(errs, field.Required(p.Child("type"), ""))
		case seen[cond.Type] && (isApprovalType(cond.Type) || cond.Type == certificatesv1.CertificateFailed):
			errs = append(errs, field.Duplicate(p.Child("type"), cond.Type))
		}
		seen[cond.Type] = true
		switch cond.Status {
		case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
		case "":
			errs = append(errs, field.Required(p.Child("status"), ""))
		default:
			errs = append(errs, field.NotSupported(p.Child("status"), cond.Status,
				[]corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}))
		}
		if isApprovalType(cond.Type) && cond.Status != corev1.ConditionTrue {
			errs = append(errs, field.NotSupported(p.Child("status"), cond.Status, []corev1.ConditionStatus{corev1.ConditionTrue}))
		}
	}
	if seen[certificatesv1.CertificateApproved] && seen[certificatesv1.CertificateDenied] {
		errs = append(errs, field.Invalid(path, c.Status.Conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
		if hasCondition(old, t) && !seen[t] {
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	return append(errs, validateCertificate(c, old)...)
}

// validateCertificate checks status.certificate on a status update.
func validateCertificate(c, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	p := field.NewPath("status", "certificate")
	switch {
	case len(old.Status.Certificate) > 0 && !bytes.Equal(c.Status.Certificate, old.Status.Certificate):
		return field.ErrorList{field.Forbidden(p, "updates may not modify existing certificate content")}
	case len(c.Status.Certificate) == 0 || len(old.Status.Certificate) > 0:
		return nil
	case !hasCondition(c, certificatesv1.CertificateApproved):
		return field.ErrorList{field.Forbidden(p, "a certificate may only be issued for an approved request")}
	}
	rest, n := c.Status.Certificate, 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return field.ErrorList{field.Invalid(p, "<certificate data>", "only CERTIFICATE PEM blocks are allowed, found "+block.Type)}
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return field.ErrorList{field.Invalid(p, "<certificate data>", err.Error())}
		}
		n++
	}
	if n == 0 || len(bytes.TrimSpace(rest)) > 0 {
		return field.ErrorList{field.Invalid(p, "<certificate data>", "must contain one or more PEM-encoded CERTIFICATE blocks and nothing else")}
	}
	return nil
}

func hasCondition(c *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == t {
			return true
		}
	}
	return false
}
