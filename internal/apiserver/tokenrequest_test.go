package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// whoami authenticates with token and returns the user the server sees.
func whoami(t *testing.T, srv *testserver.Server, token string) (string, []string, error) {
	t.Helper()
	cfg := rest.AnonymousClientConfig(srv.Config)
	cfg.BearerToken = token
	rev, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().
		Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", nil, err
	}
	return rev.Status.UserInfo.Username, rev.Status.UserInfo.Groups, nil
}

func TestTokenRequest(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := srv.Client
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tok"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa, err := c.CoreV1().ServiceAccounts("tok").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Round trip: defaults, then the token authenticates as the account.
	before := time.Now()
	tr, err := c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if tr.Spec.ExpirationSeconds == nil || *tr.Spec.ExpirationSeconds != 3600 {
		t.Errorf("expirationSeconds = %v, want the default 3600", tr.Spec.ExpirationSeconds)
	}
	if len(tr.Spec.Audiences) != 1 || tr.Spec.Audiences[0] != "https://kubernetes.default.svc.cluster.local" {
		t.Errorf("audiences = %v, want the API server's", tr.Spec.Audiences)
	}
	if exp := tr.Status.ExpirationTimestamp.Time; exp.Before(before.Add(59*time.Minute)) || exp.After(before.Add(61*time.Minute)) {
		t.Errorf("expirationTimestamp = %v, want about an hour from now", exp)
	}
	user, groups, err := whoami(t, srv, tr.Status.Token)
	if err != nil {
		t.Fatalf("request with the token: %v", err)
	}
	if user != "system:serviceaccount:tok:robot" {
		t.Errorf("user = %q", user)
	}
	if strings.Join(groups, ",") != "system:serviceaccounts,system:serviceaccounts:tok,system:authenticated" {
		t.Errorf("groups = %v", groups)
	}

	// A tampered token is refused with 401.
	parts := strings.Split(tr.Status.Token, ".")
	parts[1] = parts[1][:len(parts[1])-2] + "xx"
	if _, _, err := whoami(t, srv, strings.Join(parts, ".")); !apierrors.IsUnauthorized(err) {
		t.Errorf("tampered token: err = %v, want 401", err)
	}
	// So is a token for another audience.
	other, err := c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := whoami(t, srv, other.Status.Token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token for audience vault: err = %v, want 401", err)
	}

	// Validation and a missing account.
	short := int64(60)
	_, err = c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes") {
		t.Errorf("expirationSeconds 60: err = %v, want Invalid", err)
	}
	if _, err := c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing account: err = %v, want 404", err)
	}

	// Bound to a pod: valid while the pod exists, refused once it is gone;
	// and a token of a deleted account stops working.
	pod, err := c.CoreV1().Pods("tok").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound, err := c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bound CreateToken: %v", err)
	}
	if _, _, err := whoami(t, srv, bound.Status.Token); err != nil {
		t.Fatalf("bound token while the pod exists: %v", err)
	}
	_, err = c.CoreV1().ServiceAccounts("tok").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: "wrong"}}}, metav1.CreateOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("bound to a wrong UID: err = %v, want Conflict", err)
	}
	zero := int64(0)
	if err := c.CoreV1().Pods("tok").Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	waitUnauthorized(t, srv, bound.Status.Token)
	if err := c.CoreV1().ServiceAccounts("tok").Delete(ctx, sa.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUnauthorized(t, srv, tr.Status.Token)
}

// waitUnauthorized polls until token is refused (the server checks bound
// objects through its watch cache, which follows deletes promptly).
func waitUnauthorized(t *testing.T, srv *testserver.Server, token string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, err := whoami(t, srv, token)
		if apierrors.IsUnauthorized(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still accepted after its bound object was deleted (last err %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
