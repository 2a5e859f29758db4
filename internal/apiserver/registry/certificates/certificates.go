// Package certificates defines certificates.k8s.io/v1 certificatesigningrequests.
package certificates

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

// Resources lists the certificates.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Define(registry.Resource{
			GVR:  schema.GroupVersionResource{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"},
			Kind: "CertificateSigningRequest", SingularName: "certificatesigningrequest",
			ShortNames: []string{"csr"}, HasStatus: true,
			// approval sets the Approved/Denied conditions; status the
			// certificate and the other conditions.
			Subresources: []string{"approval"},
			New:          func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
			NewList:      func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		}, registry.Strategy[*certificatesv1.CertificateSigningRequest]{
			// The requester is whoever creates the request, not what it says.
			PrepareForCreate: func(ctx context.Context, c *certificatesv1.CertificateSigningRequest) error {
				c.Spec.Username, c.Spec.UID, c.Spec.Groups, c.Spec.Extra = "", "", nil, nil
				if u := auth.UserFrom(ctx); u != nil {
					c.Spec.Username, c.Spec.UID, c.Spec.Groups = u.Name, u.UID, u.Groups
				}
				return nil
			},
			// The request itself never changes; metadata may.
			PrepareForUpdate: func(c, old *certificatesv1.CertificateSigningRequest) {
				c.Spec = old.Spec
			},
			PrepareForSubresourceUpdate: prepareForSubresourceUpdate,
			Validate:                    validateCSR,
			ValidateStatusUpdate:        validateStatusUpdate,
			Table:                       csrTable,
			FieldSet: func(c *certificatesv1.CertificateSigningRequest) fields.Set {
				return fields.Set{"spec.signerName": c.Spec.SignerName}
			},
		}),
	}
}
