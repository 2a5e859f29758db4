package auth

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Service-account identities, as upstream names them.
const (
	// ServiceAccountIssuer is the "iss" of the tokens the API server signs
	// (upstream's default --service-account-issuer for a cluster.local
	// cluster); it is also the default audience.
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	// ServiceAccountUsernamePrefix prefixes "<namespace>:<name>".
	ServiceAccountUsernamePrefix = "system:serviceaccount:"
	// GroupServiceAccounts holds every service account;
	// GroupServiceAccounts+":"+namespace those of one namespace.
	GroupServiceAccounts = "system:serviceaccounts"
)

// ServiceAccountUsername is the user name of service account ns/name.
func ServiceAccountUsername(ns, name string) string {
	return ServiceAccountUsernamePrefix + ns + ":" + name
}

// ObjectRef names an object a token is bound to.
type ObjectRef struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// KubernetesClaims is the private "kubernetes.io" claim of a token.
type KubernetesClaims struct {
	Namespace      string     `json:"namespace"`
	ServiceAccount ObjectRef  `json:"serviceaccount"`
	Pod            *ObjectRef `json:"pod,omitempty"`
	Secret         *ObjectRef `json:"secret,omitempty"`
	Node           *ObjectRef `json:"node,omitempty"`
}

// ServiceAccountClaims are the claims of a service-account token.
type ServiceAccountClaims struct {
	jwt.RegisteredClaims
	Kubernetes KubernetesClaims `json:"kubernetes.io"`
}

// ServiceAccountTokens signs service-account tokens (ES256) and
// authenticates requests bearing them.
type ServiceAccountTokens struct {
	key *ecdsa.PrivateKey
	// Issuer is the "iss" claim; tokens of other issuers are not ours.
	Issuer string
	// Audiences are the audiences the API server accepts; a token must
	// name one of them.
	Audiences []string
	// Validate, when set, checks that what a token is bound to (its
	// service account and pod) still exists with the claimed UIDs.
	Validate func(ctx context.Context, c *ServiceAccountClaims) error
}

// NewServiceAccountTokens returns a signer and authenticator for key, with
// upstream's default issuer and audience.
func NewServiceAccountTokens(key *ecdsa.PrivateKey) *ServiceAccountTokens {
	return &ServiceAccountTokens{key: key, Issuer: ServiceAccountIssuer, Audiences: []string{ServiceAccountIssuer}}
}

// TokenSpec describes a token to issue.
type TokenSpec struct {
	Namespace, Name, UID string
	Audiences            []string
	Lifetime             time.Duration
	Pod, Secret, Node    *ObjectRef
}

// Issue signs a token for spec; it returns the token and its expiry.
func (t *ServiceAccountTokens) Issue(spec TokenSpec, now time.Time) (string, time.Time, error) {
	exp := now.Add(spec.Lifetime)
	c := &ServiceAccountClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.Issuer,
			Subject:   ServiceAccountUsername(spec.Namespace, spec.Name),
			Audience:  jwt.ClaimStrings(spec.Audiences),
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
		},
		Kubernetes: KubernetesClaims{
			Namespace:      spec.Namespace,
			ServiceAccount: ObjectRef{Name: spec.Name, UID: spec.UID},
			Pod:            spec.Pod, Secret: spec.Secret, Node: spec.Node,
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	s, err := tok.SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign service account token: %w", err)
	}
	return s, exp, nil
}

// Authenticator returns a bearer-token authenticator for these tokens.
func (t *ServiceAccountTokens) Authenticator() Authenticator {
	return serviceAccountAuthenticator{t}
}

type serviceAccountAuthenticator struct{ t *ServiceAccountTokens }

// Authenticate implements Authenticator.
func (a serviceAccountAuthenticator) Authenticate(r *http.Request) (*User, bool, error) {
	return BearerTokenAuthenticator{Resolve: func(token string) (*User, bool, error) {
		return a.t.resolve(r.Context(), token)
	}}.Authenticate(r)
}

// resolve authenticates token. A token that is not a JWT of our issuer is
// not ours (ok false, so other authenticators may try); one of ours that
// is expired, forged, for another audience or bound to a deleted object is
// an error (401).
func (t *ServiceAccountTokens) resolve(ctx context.Context, token string) (*User, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	var unverified ServiceAccountClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &unverified); err != nil || unverified.Issuer != t.Issuer {
		return nil, false, nil
	}
	c := &ServiceAccountClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()})).ParseWithClaims(token, c,
		func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil })
	if err != nil {
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	if !slices.ContainsFunc(t.Audiences, func(a string) bool { return c.VerifyAudience(a, true) }) {
		return nil, false, errors.New("service account token: token audiences are not accepted by this server")
	}
	ns, name := c.Kubernetes.Namespace, c.Kubernetes.ServiceAccount.Name
	if ns == "" || name == "" || c.Subject != ServiceAccountUsername(ns, name) {
		return nil, false, errors.New("service account token: malformed kubernetes.io claim")
	}
	if t.Validate != nil {
		if err := t.Validate(ctx, c); err != nil {
			return nil, false, fmt.Errorf("service account token: %w", err)
		}
	}
	return &User{
		Name:   c.Subject,
		UID:    c.Kubernetes.ServiceAccount.UID,
		Groups: []string{GroupServiceAccounts, GroupServiceAccounts + ":" + ns},
	}, true, nil
}
