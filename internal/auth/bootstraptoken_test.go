package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const testHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseJoinToken(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    JoinToken
		wantErr string
	}{
		{name: "full", in: "K10" + testHash + "::abcdef.0123456789abcdef",
			want: JoinToken{CAHash: testHash, ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "short", in: "abcdef.0123456789abcdef", want: JoinToken{ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "surrounding space", in: " abcdef.0123456789abcdef\n", want: JoinToken{ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "empty", in: "", wantErr: "want K10<ca hash>::<id>.<secret>"},
		{name: "no dot", in: "abcdef0123456789abcdef", wantErr: "want K10"},
		{name: "short id", in: "abcde.0123456789abcdef", wantErr: "id must be 6"},
		{name: "upper case id", in: "ABCDEF.0123456789abcdef", wantErr: "id must be 6"},
		{name: "short secret", in: "abcdef.0123456789abcde", wantErr: "secret must be 16"},
		{name: "bad secret char", in: "abcdef.0123456789abcde_", wantErr: "secret must be 16"},
		{name: "short hash", in: "K10abc::abcdef.0123456789abcdef", wantErr: "CA hash"},
		{name: "upper hash", in: "K10" + strings.ToUpper(testHash) + "::abcdef.0123456789abcdef", wantErr: "CA hash"},
		{name: "hash without credential", in: "K10" + testHash + "::", wantErr: "want K10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseJoinToken(tc.in)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrMalformedToken) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrMalformedToken mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewJoinTokenRoundTrips(t *testing.T) {
	tok, err := NewJoinToken([]byte("ca der"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.CAHash != CAHash([]byte("ca der")) {
		t.Fatalf("hash %s, want %s", tok.CAHash, CAHash([]byte("ca der")))
	}
	back, err := ParseJoinToken(tok.String())
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	if back != tok {
		t.Fatalf("round trip %+v, want %+v", back, tok)
	}
	other, _ := NewJoinToken([]byte("ca der"))
	if other.Credential() == tok.Credential() {
		t.Fatal("two tokens share a credential")
	}
}

func TestBootstrapTokenAuthenticator(t *testing.T) {
	want := JoinToken{CAHash: testHash, ID: "abcdef", Secret: "0123456789abcdef"}
	a := NewBootstrapTokenAuthenticator(want)
	tests := []struct {
		name     string
		header   string
		wantUser string
	}{
		{name: "short form", header: "Bearer abcdef.0123456789abcdef", wantUser: "system:bootstrap:abcdef"},
		{name: "full form", header: "Bearer " + want.String(), wantUser: "system:bootstrap:abcdef"},
		{name: "wrong secret", header: "Bearer abcdef.0123456789abcdee"},
		{name: "other id", header: "Bearer abcdeg.0123456789abcdef"},
		{name: "not a join token", header: "Bearer eyJhbGciOi.xyz"},
		{name: "no header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/api", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			u, ok, err := a.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantUser == "" {
				if ok {
					t.Fatalf("authenticated as %+v, want not authenticated", u)
				}
				return
			}
			if !ok || u.Name != tc.wantUser {
				t.Fatalf("user %+v ok %v, want %s", u, ok, tc.wantUser)
			}
			if !slices.Equal(u.Groups, []string{GroupBootstrappers, GroupAuthenticated}) {
				t.Fatalf("groups %v", u.Groups)
			}
		})
	}
}
