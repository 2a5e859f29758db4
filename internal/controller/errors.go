package controller

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// NamespaceGoing reports whether a create failed because its namespace is
// being deleted or is already gone; controllers drop such creates quietly.
func NamespaceGoing(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	// The NamespaceLifecycle admission answers 403 with this text.
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "because it is being terminated") {
		return true
	}
	if apierrors.IsNotFound(err) {
		if se, ok := err.(apierrors.APIStatus); ok {
			if d := se.Status().Details; d != nil && d.Kind == "namespaces" {
				return true
			}
		}
	}
	return false
}
