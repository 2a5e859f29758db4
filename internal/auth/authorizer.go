package auth

import "context"

// Attributes describe one request for authorization.
type Attributes struct {
	User        *User
	Verb        string
	Group       string
	Version     string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// Path is set for non-resource requests (/healthz, /metrics, ...).
	Path string
}

// Authorizer decides whether a request is allowed, and says why.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AllowAuthenticated allows every request of an authenticated user; it
// stands in until RBAC is enforced.
type AllowAuthenticated struct{}

// Authorize implements Authorizer.
func (AllowAuthenticated) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	if a.User == nil {
		return false, "no user", nil
	}
	return true, "every authenticated user is allowed (RBAC is not enforced yet)", nil
}
