package registry

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// This file holds cell formats several groups' tables share, written to
// print what kubectl users see against any Kubernetes cluster.

// ContainerCells returns the CONTAINERS and IMAGES cells of a pod template:
// container names and images, comma-joined in spec order.
func ContainerCells(containers []corev1.Container) (names, images string) {
	var n, i strings.Builder
	for k, c := range containers {
		if k > 0 {
			n.WriteByte(',')
			i.WriteByte(',')
		}
		n.WriteString(c.Name)
		i.WriteString(c.Image)
	}
	return n.String(), i.String()
}

// BoolPtrCell prints an optional boolean as True, False or <unset>.
func BoolPtrCell(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	}
	return "False"
}

// StringOr returns s, or def when s is empty.
func StringOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MoreList joins the first limit items with commas and, when total exceeds
// limit, appends " + N more...", the way long address lists are cut.
func MoreList(items []string, total, limit int) string {
	if len(items) > limit {
		items = items[:limit]
	}
	s := strings.Join(items, ",")
	if total > limit {
		return fmt.Sprintf("%s + %d more...", s, total-limit)
	}
	return s
}
