package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Names of node and bootstrap identities, as upstream.
const (
	// GroupNodes holds every node's client identity (system:node:<name>).
	GroupNodes = "system:nodes"
	// GroupBootstrappers holds users authenticated by a join token.
	GroupBootstrappers = "system:bootstrappers"
	// NodeUserPrefix starts a node's user name: system:node:<node name>.
	NodeUserPrefix = "system:node:"
	// BootstrapUserPrefix starts a join token's user name: system:bootstrap:<id>.
	BootstrapUserPrefix = "system:bootstrap:"
)

// Join token shape: K10<hex sha256 of the server CA certificate (DER)>::<id>.<secret>,
// with id 6 and secret 16 characters of [a-z0-9] (kubeadm's bootstrap
// token alphabet and lengths).
const (
	joinTokenPrefix = "K10"
	joinTokenSep    = "::"
	tokenIDLen      = 6
	tokenSecretLen  = 16
	tokenAlphabet   = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// ErrMalformedToken is returned (wrapped) by ParseJoinToken.
var ErrMalformedToken = errors.New("auth: malformed join token")

// JoinToken is what a new node presents to join the cluster: a credential
// (ID and Secret) and, in its full form, the hash of the server CA the
// node must find before trusting the server.
type JoinToken struct {
	// CAHash is the hex SHA-256 of the server CA certificate's DER bytes;
	// empty for the short form "<id>.<secret>".
	CAHash string
	// ID names the token (the user is system:bootstrap:<ID>); Secret
	// proves possession.
	ID, Secret string
}

// NewJoinToken makes a token with a random ID and secret for the server
// CA whose certificate is caDER.
func NewJoinToken(caDER []byte) (JoinToken, error) {
	id, err := randomString(tokenIDLen)
	if err != nil {
		return JoinToken{}, err
	}
	secret, err := randomString(tokenSecretLen)
	if err != nil {
		return JoinToken{}, err
	}
	return JoinToken{CAHash: CAHash(caDER), ID: id, Secret: secret}, nil
}

// CAHash is the hash a join token carries for the CA certificate der.
func CAHash(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParseJoinToken parses the full form K10<hash>::<id>.<secret> or the
// short form <id>.<secret>.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	var t JoinToken
	cred := s
	if rest, ok := strings.CutPrefix(s, joinTokenPrefix); ok && strings.Contains(s, joinTokenSep) {
		hash, c, _ := strings.Cut(rest, joinTokenSep)
		if len(hash) != 2*sha256.Size || !isLowerHex(hash) {
			return JoinToken{}, fmt.Errorf("%w: the CA hash after %q must be %d lowercase hex digits", ErrMalformedToken, joinTokenPrefix, 2*sha256.Size)
		}
		t.CAHash, cred = hash, c
	}
	id, secret, ok := strings.Cut(cred, ".")
	if !ok {
		return JoinToken{}, fmt.Errorf("%w: want K10<ca hash>::<id>.<secret> or <id>.<secret>", ErrMalformedToken)
	}
	if len(id) != tokenIDLen || !inAlphabet(id) {
		return JoinToken{}, fmt.Errorf("%w: the id must be %d characters of [a-z0-9]", ErrMalformedToken, tokenIDLen)
	}
	if len(secret) != tokenSecretLen || !inAlphabet(secret) {
		return JoinToken{}, fmt.Errorf("%w: the secret must be %d characters of [a-z0-9]", ErrMalformedToken, tokenSecretLen)
	}
	t.ID, t.Secret = id, secret
	return t, nil
}

// String is the full form when the CA hash is known, else the short form.
func (t JoinToken) String() string {
	if t.CAHash == "" {
		return t.Credential()
	}
	return joinTokenPrefix + t.CAHash + joinTokenSep + t.Credential()
}

// Credential is the "<id>.<secret>" part, sent as a bearer token.
func (t JoinToken) Credential() string { return t.ID + "." + t.Secret }

// UserName is the user a request with this token authenticates as.
func (t JoinToken) UserName() string { return BootstrapUserPrefix + t.ID }

// NewBootstrapTokenAuthenticator authenticates "Authorization: Bearer"
// with want's credential (short or full form) as system:bootstrap:<id> in
// the groups system:bootstrappers and system:authenticated. Other bearer
// tokens are left to the next authenticator.
func NewBootstrapTokenAuthenticator(want JoinToken) Authenticator {
	return BearerTokenAuthenticator{Resolve: func(token string) (*User, bool, error) {
		got, err := ParseJoinToken(token)
		if err != nil || got.ID != want.ID {
			return nil, false, nil
		}
		if subtle.ConstantTimeCompare([]byte(got.Secret), []byte(want.Secret)) != 1 {
			return nil, false, nil
		}
		return &User{Name: want.UserName(), Groups: []string{GroupBootstrappers, GroupAuthenticated}}, true, nil
	}}
}

// randomString returns n characters of tokenAlphabet from crypto/rand.
func randomString(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate join token: %w", err)
	}
	// 256 is not a multiple of 36; reject bytes above the largest multiple
	// so every character is equally likely.
	out := make([]byte, 0, n)
	for len(out) < n {
		for _, b := range buf {
			if int(b) < 252 && len(out) < n {
				out = append(out, tokenAlphabet[int(b)%len(tokenAlphabet)])
			}
		}
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate join token: %w", err)
		}
	}
	return string(out), nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func inAlphabet(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune(tokenAlphabet, c) {
			return false
		}
	}
	return true
}
