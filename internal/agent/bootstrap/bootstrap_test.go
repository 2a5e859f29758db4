package bootstrap_test

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/agent/bootstrap"
	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// timeout bounds every wait; a passing test never reaches it.
const timeout = 60 * time.Second

// startServer runs a server with the CSR controllers and returns it with
// its join token.
func startServer(t *testing.T) (*testserver.Server, auth.JoinToken) {
	t.Helper()
	s := testserver.Start(t, func(o *server.Options) {
		o.DisableControllers = false
		o.Controllers = []string{"csrapproving", "csrsigning"}
	})
	tok, err := server.ReadJoinToken(s.Options.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

func options(t *testing.T, s *testserver.Server, token, node string) bootstrap.Options {
	return bootstrap.Options{Server: s.URL, Token: token, DataDir: t.TempDir(), NodeName: node,
		Log: slog.New(slog.DiscardHandler)}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// whoAmI asks the server who cfg authenticates as.
func whoAmI(t *testing.T, ctx context.Context, cfg *rest.Config) authenticationv1.UserInfo {
	t.Helper()
	c := kubernetes.NewForConfigOrDie(cfg)
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject review: %v", err)
	}
	return r.Status.UserInfo
}

func csrCount(t *testing.T, ctx context.Context, s *testserver.Server) int {
	t.Helper()
	l, err := s.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func TestJoinGivesNodeCredentialsAndReusesThem(t *testing.T) {
	s, tok := startServer(t)
	ctx := testContext(t)
	o := options(t, s, tok.String(), "node-a")
	creds, err := bootstrap.Bootstrap(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	u := whoAmI(t, ctx, creds.Config())
	if u.Username != "system:node:node-a" || !slices.Contains(u.Groups, "system:nodes") {
		t.Fatalf("authenticated as %s %v, want system:node:node-a in system:nodes", u.Username, u.Groups)
	}
	for _, f := range []string{"client.key", "client.crt"} {
		st, err := os.Stat(filepath.Join(o.DataDir, "agent", "pki", f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	before := csrCount(t, ctx, s)
	again, err := bootstrap.Bootstrap(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := csrCount(t, ctx, s); got != before {
		t.Fatalf("second start created a CSR (%d, was %d)", got, before)
	}
	if again.Certificate().SerialNumber.Cmp(creds.Certificate().SerialNumber) != 0 {
		t.Fatal("second start did not reuse the stored certificate")
	}
	// Without the token, the stored certificate is enough.
	o.Token = ""
	if _, err := bootstrap.Bootstrap(ctx, o); err != nil {
		t.Fatalf("restart without token: %v", err)
	}
}

func TestJoinRefusals(t *testing.T) {
	s, tok := startServer(t)
	wrongSecret := tok
	wrongSecret.Secret = "zzzzzzzzzzzzzzzz"
	otherCA := tok
	otherCA.CAHash = strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		token     string
		wantErr   error
		wantInErr []string
	}{
		{name: "wrong secret", token: wrongSecret.String(), wantErr: bootstrap.ErrTokenRejected,
			wantInErr: []string{"join token rejected by the server (401)"}},
		{name: "CA hash mismatch", token: otherCA.String(), wantErr: bootstrap.ErrCAHashMismatch,
			wantInErr: []string{"refusing to trust", otherCA.CAHash, tok.CAHash}},
		{name: "short token cannot verify the server", token: tok.Credential(),
			wantInErr: []string{"no CA hash"}},
		{name: "malformed token", token: "nonsense", wantErr: auth.ErrMalformedToken},
		{name: "no token and no certificate", token: "", wantInErr: []string{"no join token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bootstrap.Bootstrap(testContext(t), options(t, s, tc.token, "node-b"))
			if err == nil {
				t.Fatal("joined, want a refusal")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			for _, want := range tc.wantInErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestRotationSwapsCertificateAndRequestsKeepWorking(t *testing.T) {
	s, tok := startServer(t)
	ctx := testContext(t)
	o := options(t, s, tok.String(), "node-r")
	o.ExpirationSeconds = 600
	// Renew as soon as possible: the threshold is the first instant of
	// the certificate's life.
	o.RenewFraction = 1e-9
	creds, err := bootstrap.Bootstrap(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	first := creds.Certificate()
	if max := time.Now().Add(601 * time.Second); first.NotAfter.After(max) {
		t.Fatalf("certificate valid until %s, want expirationSeconds 600 honoured", first.NotAfter)
	}
	client := kubernetes.NewForConfigOrDie(creds.Config())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- creds.Start(runCtx) }()
	for creds.Certificate().SerialNumber.Cmp(first.SerialNumber) == 0 {
		if ctx.Err() != nil {
			t.Fatal("certificate not renewed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("renewer: %v", err)
	}
	renewed := creds.Certificate()
	if renewed.Subject.CommonName != "system:node:node-r" {
		t.Fatalf("renewed certificate for %s", renewed.Subject.CommonName)
	}
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request with a client made before the renewal: %v", err)
	}
	if r.Status.UserInfo.Username != "system:node:node-r" {
		t.Fatalf("after renewal authenticated as %s", r.Status.UserInfo.Username)
	}
	// The renewal was requested by the node itself.
	l, err := s.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bySelf := false
	for _, c := range l.Items {
		bySelf = bySelf || c.Spec.Username == "system:node:node-r"
	}
	if !bySelf {
		t.Fatal("no CSR was requested by system:node:node-r")
	}
	// The stored pair is the renewed one, so a restart uses it.
	stored, err := os.ReadFile(filepath.Join(o.DataDir, "agent", "pki", "client.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), string(pemOf(renewed.Raw))) {
		t.Fatal("client.crt does not hold the renewed certificate")
	}
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
