// Package namespacelifecycle refuses creates in namespaces that do not exist
// or are being deleted, and deletion of the namespaces the system needs.
package namespacelifecycle

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
)

// GetNamespace reads a namespace; it returns a NotFound API error when absent.
type GetNamespace func(ctx context.Context, name string) (*corev1.Namespace, error)

// Plugin is the NamespaceLifecycle admission plugin.
type Plugin struct {
	Get GetNamespace
	// Immortal namespaces cannot be deleted.
	Immortal []string
}

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// Admit implements admission.Plugin.
func (p *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	gr := a.Resource.GroupResource()
	if gr == namespacesGR {
		if a.Operation == admission.Delete {
			for _, n := range p.Immortal {
				if n == a.Name {
					return apierrors.NewForbidden(gr, a.Name, fmt.Errorf("this namespace may not be deleted"))
				}
			}
		}
		return nil
	}
	if a.Operation != admission.Create || !a.Resource.Namespaced || a.Subresource != "" {
		return nil
	}
	ns, err := p.Get(ctx, a.Namespace)
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(gr, a.Name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", a.Namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}
