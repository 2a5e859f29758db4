// Package admission defines the plugins that see every write after
// defaulting and before validation and storage, and may refuse or change it.
// Each plugin is a package under admission/.
package admission

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

// Operation is the kind of write.
type Operation string

// Operations, as upstream names them.
const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe one write.
type Attributes struct {
	Operation   Operation
	Resource    *registry.Resource
	Subresource string
	Namespace   string
	Name        string
	// Object is the new object (nil on delete); plugins may change it.
	Object runtime.Object
	// OldObject is the stored object on update and delete.
	OldObject runtime.Object
	User      *auth.User
	DryRun    bool
}

// Plugin admits or refuses a write. A refusal is an API error (usually
// Forbidden or Invalid).
type Plugin interface {
	Admit(ctx context.Context, a *Attributes) error
}

// Chain runs plugins in order and stops at the first refusal.
type Chain []Plugin

// Admit implements Plugin.
func (c Chain) Admit(ctx context.Context, a *Attributes) error {
	for _, p := range c {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
