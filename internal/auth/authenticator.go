package auth

import (
	"net/http"
	"strings"
)

// Authenticator identifies the sender of a request. ok is false when the
// request carries no credentials this authenticator understands.
type Authenticator interface {
	Authenticate(r *http.Request) (u *User, ok bool, err error)
}

// ClientCertAuthenticator trusts client certificates the TLS handshake
// already verified against the client CA: CN is the user, O the groups.
type ClientCertAuthenticator struct{}

// Authenticate implements Authenticator.
func (ClientCertAuthenticator) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	c := r.TLS.PeerCertificates[0]
	groups := append([]string{}, c.Subject.Organization...)
	return &User{Name: c.Subject.CommonName, Groups: withAuthenticated(groups)}, true, nil
}

// TokenFunc resolves a bearer token to a user.
type TokenFunc func(token string) (*User, bool, error)

// BearerTokenAuthenticator authenticates "Authorization: Bearer" headers.
type BearerTokenAuthenticator struct {
	Resolve TokenFunc
}

// Authenticate implements Authenticator.
func (b BearerTokenAuthenticator) Authenticate(r *http.Request) (*User, bool, error) {
	h := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(h, "Bearer ")
	if !found || token == "" {
		return nil, false, nil
	}
	u, ok, err := b.Resolve(strings.TrimSpace(token))
	if !ok || err != nil {
		return nil, ok, err
	}
	u.Groups = withAuthenticated(u.Groups)
	return u, true, nil
}

// Union tries each authenticator in order.
type Union []Authenticator

// Authenticate implements Authenticator.
func (us Union) Authenticate(r *http.Request) (*User, bool, error) {
	for _, a := range us {
		u, ok, err := a.Authenticate(r)
		if err != nil || ok {
			return u, ok, err
		}
	}
	return nil, false, nil
}

func withAuthenticated(groups []string) []string {
	for _, g := range groups {
		if g == GroupAuthenticated {
			return groups
		}
	}
	return append(groups, GroupAuthenticated)
}
