// Package certificates defines certificates.k8s.io/v1 certificatesigningrequests.
package certificates

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the certificates.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Define(registry.Resource{
			GVR:  schema.GroupVersionResource{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"},
			Kind: "CertificateSigningRequest", SingularName: "certificatesigningrequest",
			ShortNames: []string{"csr"}, HasStatus: true,
			New:     func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
			NewList: func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		}, registry.Strategy[*certificatesv1.CertificateSigningRequest]{
			FieldSet: func(c *certificatesv1.CertificateSigningRequest) fields.Set {
				return fields.Set{"spec.signerName": c.Spec.SignerName}
			},
		}),
	}
}
