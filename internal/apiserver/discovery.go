package apiserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// subresourceVerbs are the verbs discovery lists for each subresource.
var subresourceVerbs = map[string][]string{
	"status":              {"get", "patch", "update"},
	"scale":               {"get", "patch", "update"},
	"binding":             {"create"},
	"eviction":            {"create"},
	"finalize":            {"update"},
	"approval":            {"get", "patch", "update"},
	"token":               {"create"},
	"log":                 {"get"},
	"exec":                {"create", "get"},
	"attach":              {"create", "get"},
	"portforward":         {"create", "get"},
	"proxy":               {"create", "delete", "get", "patch", "update"},
	"ephemeralcontainers": {"get", "patch", "update"},
}

// subresourceKind is the kind a subresource speaks, when not the parent's.
func subresourceKind(r *registry.Resource, sub string) schema.GroupVersionKind {
	switch sub {
	case "scale":
		return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	case "binding":
		return schema.GroupVersionKind{Version: "v1", Kind: "Binding"}
	case "eviction":
		return schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}
	case "token":
		return schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}
	case "log", "exec", "attach", "portforward", "proxy":
		return schema.GroupVersionKind{Version: "v1", Kind: kindOfConnect(sub, r.Kind)}
	}
	return r.GroupVersionKind()
}

func kindOfConnect(sub, parent string) string {
	switch sub {
	case "log":
		return parent
	case "exec":
		return "PodExecOptions"
	case "attach":
		return "PodAttachOptions"
	case "portforward":
		return "PodPortForwardOptions"
	}
	return parent + "ProxyOptions"
}

// wantsAggregated reports whether the client asked for aggregated discovery
// and which version of it.
func wantsAggregated(r *http.Request) (string, bool) {
	for _, clause := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, p, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil || mt != mediaJSON {
			continue
		}
		if p["as"] == "APIGroupDiscoveryList" && p["g"] == "apidiscovery.k8s.io" && (p["v"] == "v2" || p["v"] == "v2beta1") {
			return p["v"], true
		}
	}
	return "", false
}

func (s *Server) serveCoreVersions(w http.ResponseWriter, r *http.Request) {
	if v, ok := wantsAggregated(r); ok {
		s.writeAggregated(w, r, v, true)
		return
	}
	host := r.Host
	s.writeRaw(w, r, &metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}},
	})
}

func (s *Server) serveGroups(w http.ResponseWriter, r *http.Request) {
	if v, ok := wantsAggregated(r); ok {
		s.writeAggregated(w, r, v, false)
		return
	}
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, g := range s.groupNames() {
		list.Groups = append(list.Groups, s.apiGroup(g))
	}
	s.writeRaw(w, r, list)
}

// groupNames lists the non-core groups in registration order.
func (s *Server) groupNames() []string {
	var out []string
	seen := map[string]bool{"": true}
	for _, gv := range s.order {
		if !seen[gv.Group] {
			seen[gv.Group] = true
			out = append(out, gv.Group)
		}
	}
	return out
}

func (s *Server) apiGroup(group string) metav1.APIGroup {
	g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: group}
	for _, gv := range s.groupVersions(group) {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
	}
	if len(g.Versions) > 0 {
		g.PreferredVersion = g.Versions[0]
	}
	return g
}

// serveDiscoveryPath answers /api/v1, /apis/<g> and /apis/<g>/<v>.
func (s *Server) serveDiscoveryPath(w http.ResponseWriter, r *http.Request) bool {
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 2 && parts[0] == "api":
		return s.serveResourceList(w, r, schema.GroupVersion{Version: parts[1]})
	case len(parts) == 2 && parts[0] == "apis":
		if len(s.groupVersions(parts[1])) == 0 {
			return false
		}
		g := s.apiGroup(parts[1])
		s.writeRaw(w, r, &g)
		return true
	case len(parts) == 3 && parts[0] == "apis":
		return s.serveResourceList(w, r, schema.GroupVersion{Group: parts[1], Version: parts[2]})
	}
	return false
}

func (s *Server) serveResourceList(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) bool {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	found := false
	for _, res := range s.cfg.Resources {
		if res.GVR.GroupVersion() != gv {
			continue
		}
		found = true
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: res.GVR.Resource, SingularName: res.SingularName, Namespaced: res.Namespaced,
			Kind: res.Kind, Verbs: res.ServedVerbs(), ShortNames: res.ShortNames, Categories: res.Categories,
		})
		for _, sub := range res.Subresources {
			k := subresourceKind(res, sub)
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.GVR.Resource + "/" + sub, Namespaced: res.Namespaced,
				Group: k.Group, Version: k.Version, Kind: k.Kind, Verbs: subresourceVerbs[sub],
			})
		}
	}
	if !found {
		return false
	}
	s.writeRaw(w, r, list)
	return true
}

// writeAggregated answers the aggregated discovery document (core or groups).
func (s *Server) writeAggregated(w http.ResponseWriter, r *http.Request, version string, core bool) {
	list := &apidiscoveryv2.APIGroupDiscoveryList{}
	list.APIVersion, list.Kind = "apidiscovery.k8s.io/"+version, "APIGroupDiscoveryList"
	groups := s.groupNames()
	if core {
		groups = []string{""}
	}
	for _, g := range groups {
		gd := apidiscoveryv2.APIGroupDiscovery{}
		gd.Name = g
		for _, gv := range s.groupVersions(g) {
			gd.Versions = append(gd.Versions, s.versionDiscovery(gv))
		}
		list.Items = append(list.Items, gd)
	}
	data, err := json.Marshal(list)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v="+version+";as=APIGroupDiscoveryList")
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(data)
}

func (s *Server) versionDiscovery(gv schema.GroupVersion) apidiscoveryv2.APIVersionDiscovery {
	vd := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	for _, res := range s.cfg.Resources {
		if res.GVR.GroupVersion() != gv {
			continue
		}
		scope := apidiscoveryv2.ScopeCluster
		if res.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		kind := res.GroupVersionKind()
		rd := apidiscoveryv2.APIResourceDiscovery{
			Resource: res.GVR.Resource, SingularResource: res.SingularName, Scope: scope,
			ResponseKind: &metav1.GroupVersionKind{Group: kind.Group, Version: kind.Version, Kind: kind.Kind},
			Verbs:        res.ServedVerbs(), ShortNames: res.ShortNames, Categories: res.Categories,
		}
		for _, sub := range res.Subresources {
			k := subresourceKind(res, sub)
			rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource:  sub,
				ResponseKind: &metav1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind},
				Verbs:        subresourceVerbs[sub],
			})
		}
		vd.Resources = append(vd.Resources, rd)
	}
	return vd
}

// writeRaw writes a non-resource object (discovery, version) as JSON.
func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	data, err := s.ser.encode(outputFormat{MediaType: mediaJSON}, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(data)
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	v := s.cfg.Version
	data, err := json.Marshal(&v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(data)
}
