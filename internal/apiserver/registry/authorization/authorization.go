// Package authorization serves authorization.k8s.io/v1 access reviews
// (kubectl auth can-i): create-only resources answered by the authorizer.
package authorization

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: r}
}

// Resources lists the authorization.k8s.io/v1 review resources.
func Resources(authz auth.Authorizer) []*registry.Resource {
	create := []string{"create"}
	review := func(r *registry.Resource, fn func(ctx context.Context, obj runtime.Object) (runtime.Object, error)) *registry.Resource {
		r.Verbs, r.Review = create, fn
		return r
	}
	return []*registry.Resource{
		review(registry.Plain(gvr("localsubjectaccessreviews"), "LocalSubjectAccessReview", true,
			func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }, nil, nil),
			func(ctx context.Context, o runtime.Object) (runtime.Object, error) {
				r := o.(*authorizationv1.LocalSubjectAccessReview)
				r.Status = decide(ctx, authz, subject(r.Spec.User, r.Spec.UID, r.Spec.Groups), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes)
				return r, nil
			}),
		review(registry.Plain(gvr("selfsubjectaccessreviews"), "SelfSubjectAccessReview", false,
			func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }, nil, nil),
			func(ctx context.Context, o runtime.Object) (runtime.Object, error) {
				r := o.(*authorizationv1.SelfSubjectAccessReview)
				r.Status = decide(ctx, authz, auth.UserFrom(ctx), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes)
				return r, nil
			}),
		review(registry.Plain(gvr("selfsubjectrulesreviews"), "SelfSubjectRulesReview", false,
			func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }, nil, nil),
			func(ctx context.Context, o runtime.Object) (runtime.Object, error) {
				r := o.(*authorizationv1.SelfSubjectRulesReview)
				r.Status = rules(ctx, authz, auth.UserFrom(ctx), r.Spec.Namespace)
				return r, nil
			}),
		review(registry.Plain(gvr("subjectaccessreviews"), "SubjectAccessReview", false,
			func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }, nil, nil),
			func(ctx context.Context, o runtime.Object) (runtime.Object, error) {
				r := o.(*authorizationv1.SubjectAccessReview)
				if r.Spec.User == "" && len(r.Spec.Groups) == 0 {
					return nil, apierrors.NewBadRequest("at least one of user or group must be specified")
				}
				r.Status = decide(ctx, authz, subject(r.Spec.User, r.Spec.UID, r.Spec.Groups), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes)
				return r, nil
			}),
	}
}

func subject(name, uid string, groups []string) *auth.User {
	return &auth.User{Name: name, UID: uid, Groups: groups}
}

// decide asks the authorizer about one resource or non-resource request.
func decide(ctx context.Context, authz auth.Authorizer, u *auth.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	a := auth.Attributes{User: u}
	switch {
	case ra != nil:
		a.Verb, a.Group, a.Version, a.Resource = ra.Verb, ra.Group, ra.Version, ra.Resource
		a.Subresource, a.Namespace, a.Name = ra.Subresource, ra.Namespace, ra.Name
	case nra != nil:
		a.Verb, a.Path = nra.Verb, nra.Path
	default:
		return authorizationv1.SubjectAccessReviewStatus{EvaluationError: "spec.resourceAttributes or spec.nonResourceAttributes is required"}
	}
	ok, reason, err := authz.Authorize(ctx, a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: ok, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

// rules lists what the user may do; with the allow-all authorizer that is
// everything.
func rules(ctx context.Context, authz auth.Authorizer, u *auth.User, ns string) authorizationv1.SubjectRulesReviewStatus {
	ok, _, err := authz.Authorize(ctx, auth.Attributes{User: u, Verb: "*", Group: "*", Resource: "*", Namespace: ns})
	st := authorizationv1.SubjectRulesReviewStatus{Incomplete: true}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	if ok {
		st.ResourceRules = []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
		st.NonResourceRules = []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
		st.Incomplete = false
	}
	return st
}
