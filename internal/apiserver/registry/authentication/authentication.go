// Package authentication serves authentication.k8s.io/v1 selfsubjectreviews
// (kubectl auth whoami).
package authentication

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

// Resources lists the authentication.k8s.io/v1 review resources.
func Resources() []*registry.Resource {
	r := registry.Plain(schema.GroupVersionResource{Group: "authentication.k8s.io", Version: "v1", Resource: "selfsubjectreviews"},
		"SelfSubjectReview", false, func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, nil, nil)
	r.Verbs = []string{"create"}
	r.Review = func(ctx context.Context, o runtime.Object) (runtime.Object, error) {
		rev := o.(*authenticationv1.SelfSubjectReview)
		if u := auth.UserFrom(ctx); u != nil {
			rev.Status.UserInfo = authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
		}
		return rev, nil
	}
	return []*registry.Resource{r}
}
