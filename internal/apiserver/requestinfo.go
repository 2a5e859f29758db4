package apiserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// requestInfo is what a resource URL says: which resource, which object and
// which verb.
type requestInfo struct {
	Verb        string
	Group       string
	Version     string
	Namespace   string
	Resource    string
	Name        string
	Subresource string
	// Rest holds path parts after the subresource (proxy paths).
	Rest []string
}

func (ri *requestInfo) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}
}

// namespaceSubresources are the subresources of a namespace object; any other
// word after /namespaces/<ns>/ names a namespaced resource.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequestInfo parses /api/v1/... and /apis/<group>/<version>/... paths.
// ok is false for paths that are not resource requests.
func parseRequestInfo(r *http.Request) (*requestInfo, bool) {
	parts := splitPath(r.URL.Path)
	ri := &requestInfo{}
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return nil, false
	}
	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
		if len(parts) == 0 {
			return nil, false
		}
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		ri.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	ri.Resource = parts[0]
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	if len(parts) > 3 {
		ri.Rest = parts[3:]
	}
	if ri.Resource == "namespaces" {
		// A namespace is cluster-scoped; its name is in the Namespace slot.
		ri.Name, ri.Namespace = firstNonEmpty(ri.Name, ri.Namespace), ""
	}
	ri.Verb = verbOf(r, ri, watchPath)
	return ri, true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func verbOf(r *http.Request, ri *requestInfo, watchPath bool) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if watchPath || isTrue(r.URL.Query().Get("watch")) {
			return "watch"
		}
		if ri.Name == "" {
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func isTrue(s string) bool { return s == "1" || s == "true" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
