package integration

import "k8s.io/apimachinery/pkg/runtime/schema"

// groupVersion parses ["v1"] or ["apps","v1"].
func groupVersion(parts []string) schema.GroupVersion {
	if len(parts) == 1 {
		return schema.GroupVersion{Version: parts[0]}
	}
	return schema.GroupVersion{Group: parts[0], Version: parts[1]}
}
