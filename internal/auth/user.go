// Package auth identifies who sends a request (authentication) and decides
// what they may do (authorization). Certificates live in auth/pki.
package auth

import "context"

// Well-known groups.
const (
	GroupMasters       = "system:masters"
	GroupAuthenticated = "system:authenticated"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user of ctx, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}
