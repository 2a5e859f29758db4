package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServiceAccountTokens(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tokens := NewServiceAccountTokens(key)
	foreign := NewServiceAccountTokens(other)
	foreignIssuer := NewServiceAccountTokens(key)
	foreignIssuer.Issuer = "https://elsewhere"
	spec := TokenSpec{Namespace: "ns", Name: "sa", UID: "u1", Audiences: []string{ServiceAccountIssuer}, Lifetime: time.Hour}
	issue := func(s *ServiceAccountTokens, spec TokenSpec, now time.Time) string {
		tok, _, err := s.Issue(spec, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	wrongAud := spec
	wrongAud.Audiences = []string{"vault"}
	tests := []struct {
		name     string
		token    string
		validate func(context.Context, *ServiceAccountClaims) error
		wantOK   bool
		wantErr  string
	}{
		{name: "valid", token: issue(tokens, spec, now), wantOK: true},
		{name: "expired", token: issue(tokens, spec, now.Add(-2*time.Hour)), wantErr: "expired"},
		{name: "signed by another key", token: issue(foreign, spec, now), wantErr: "verification error"},
		{name: "another issuer is not ours", token: issue(foreignIssuer, spec, now)},
		{name: "another audience", token: issue(tokens, wrongAud, now), wantErr: "audiences"},
		{name: "not a JWT", token: "abcdef.0123456789abcdef"},
		{name: "bound object gone", token: issue(tokens, spec, now), wantErr: "pod gone",
			validate: func(context.Context, *ServiceAccountClaims) error { return errors.New("pod gone") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens.Validate = tc.validate
			r, _ := http.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			u, ok, err := tokens.Authenticator().Authenticate(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || ok != tc.wantOK {
				t.Fatalf("ok, err = %v, %v; want %v, nil", ok, err, tc.wantOK)
			}
			if ok && (u.Name != "system:serviceaccount:ns:sa" || u.UID != "u1" ||
				strings.Join(u.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:ns,system:authenticated") {
				t.Errorf("user = %+v", u)
			}
		})
	}
}
