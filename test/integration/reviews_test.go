package integration

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestAccessReviewsAnswerAndStoreNothing(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	ssar, err := s.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "create", Resource: "pods", Namespace: "default"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ssar.Status.Allowed {
		t.Errorf("admin may not create pods: %+v", ssar.Status)
	}
	who, err := s.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if who.Status.UserInfo.Username != "system:admin" {
		t.Errorf("whoami: %+v", who.Status.UserInfo)
	}
	_, err = s.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}},
	}, metav1.CreateOptions{})
	if !apierrors.IsBadRequest(err) {
		t.Errorf("review without a subject: want 400, got %v", err)
	}
	if _, err := s.Client.AuthorizationV1().RESTClient().Get().Resource("selfsubjectaccessreviews").DoRaw(ctx); !apierrors.IsMethodNotSupported(err) {
		t.Errorf("list of reviews: want 405, got %v", err)
	}
}
