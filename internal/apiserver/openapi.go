package apiserver

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// The OpenAPI v3 documents describe every served path and operation with
// its group-version-kind and query parameters, which is what kubectl reads
// to decide that the server validates fields itself (fieldValidation).
// Object schemas are not generated yet, so kubectl explain has nothing to
// show; /openapi/v2 carries the same paths in Swagger 2.0 form.

// serveOpenAPIv2 answers the Swagger 2.0 document, as protobuf when asked
// (client-go asks for it that way) or JSON.
func (s *Server) serveOpenAPIv2(w http.ResponseWriter, r *http.Request) {
	s.openAPIv2Once.Do(func() { s.openAPIv2JSON, s.openAPIv2Proto, s.openAPIv2Err = s.buildOpenAPIv2() })
	if s.openAPIv2Err != nil {
		s.writeError(w, r, s.openAPIv2Err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		w.Header().Set("Content-Type", mediaOpenAPIv2Proto)
		_, _ = w.Write(s.openAPIv2Proto)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(s.openAPIv2JSON)
}

const mediaOpenAPIv2Proto = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

func (s *Server) buildOpenAPIv2() ([]byte, []byte, error) {
	paths := map[string]interface{}{}
	for _, gv := range s.order {
		for p, item := range s.openAPIDoc(gv)["paths"].(map[string]interface{}) {
			for _, op := range item.(map[string]interface{}) {
				swagger2Params(op.(map[string]interface{}))
			}
			paths[p] = item
		}
	}
	doc := map[string]interface{}{
		"swagger":     "2.0",
		"info":        map[string]string{"title": "Kubernetes", "version": s.cfg.Version.GitVersion},
		"paths":       paths,
		"definitions": map[string]interface{}{},
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := openapiv2.ParseDocument(js)
	if err != nil {
		return nil, nil, fmt.Errorf("parse openapi v2: %w", err)
	}
	pb, err := proto.Marshal(parsed)
	if err != nil {
		return nil, nil, fmt.Errorf("encode openapi v2: %w", err)
	}
	return js, pb, nil
}

func (s *Server) serveOpenAPIv3(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/openapi/v3"), "/")
	if rest == "" {
		s.writeJSON(w, r, s.openAPIRoot())
		return
	}
	gv, ok := gvFromOpenAPIPath(rest)
	if !ok || len(s.groupVersionResources(gv)) == 0 {
		s.writeStatus(w, r, notFoundPath())
		return
	}
	s.writeJSON(w, r, s.openAPIDoc(gv))
}

func gvFromOpenAPIPath(p string) (schema.GroupVersion, bool) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && parts[0] == "api":
		return schema.GroupVersion{Version: parts[1]}, true
	case len(parts) == 3 && parts[0] == "apis":
		return schema.GroupVersion{Group: parts[1], Version: parts[2]}, true
	}
	return schema.GroupVersion{}, false
}

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func (s *Server) groupVersionResources(gv schema.GroupVersion) []*registry.Resource {
	var out []*registry.Resource
	for _, r := range s.cfg.Resources {
		if r.GVR.GroupVersion() == gv {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) openAPIRoot() map[string]interface{} {
	paths := map[string]interface{}{}
	for _, gv := range s.order {
		doc, _ := json.Marshal(s.openAPIDoc(gv))
		sum := sha512.Sum512(doc)
		p := gvPath(gv)
		paths[p] = map[string]string{"serverRelativeURL": "/openapi/v3/" + p + "?hash=" + strings.ToUpper(hex.EncodeToString(sum[:]))}
	}
	return map[string]interface{}{"paths": paths}
}

// openAPIDoc is the OpenAPI 3.0 document of one group version.
func (s *Server) openAPIDoc(gv schema.GroupVersion) map[string]interface{} {
	paths := map[string]interface{}{}
	for _, r := range s.groupVersionResources(gv) {
		base := "/" + gvPath(gv) + "/"
		if r.Namespaced {
			base += "namespaces/{namespace}/"
		}
		base += r.GVR.Resource
		gvk := map[string]string{"group": gv.Group, "version": gv.Version, "kind": r.Kind}
		paths[base] = map[string]interface{}{
			"get":  operation("list", r, gvk, "limit", "continue", "labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch", "watch", "allowWatchBookmarks", "sendInitialEvents", "timeoutSeconds"),
			"post": operation("create", r, gvk, "dryRun", "fieldManager", "fieldValidation"),
		}
		item := map[string]interface{}{
			"get":    operation("read", r, gvk),
			"put":    operation("replace", r, gvk, "dryRun", "fieldManager", "fieldValidation"),
			"patch":  operation("patch", r, gvk, "dryRun", "fieldManager", "fieldValidation", "force"),
			"delete": operation("delete", r, gvk, "dryRun", "gracePeriodSeconds", "propagationPolicy"),
		}
		paths[base+"/{name}"] = item
		for _, sub := range r.Subresources {
			paths[base+"/{name}/"+sub] = map[string]interface{}{
				"get":   operation("read", r, gvk),
				"put":   operation("replace", r, gvk, "dryRun", "fieldManager", "fieldValidation"),
				"patch": operation("patch", r, gvk, "dryRun", "fieldManager", "fieldValidation", "force"),
			}
		}
	}
	return map[string]interface{}{
		"openapi": "3.0.0",
		"info":    map[string]string{"title": "Kubernetes", "version": s.cfg.Version.GitVersion},
		"paths":   paths,
		"components": map[string]interface{}{
			"schemas": map[string]interface{}{},
		},
	}
}

func operation(action string, r *registry.Resource, gvk map[string]string, params ...string) map[string]interface{} {
	ps := make([]map[string]interface{}, 0, len(params))
	for _, p := range params {
		ps = append(ps, map[string]interface{}{"name": p, "in": "query", "schema": map[string]string{"type": "string"}})
	}
	return map[string]interface{}{
		"operationId":                     action + r.Kind,
		"parameters":                      ps,
		"responses":                       map[string]interface{}{"200": map[string]string{"description": "OK"}},
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": gvk,
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v interface{}) {
	data, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(data)
}

// swagger2Params rewrites OpenAPI 3 query parameters to Swagger 2.0 form.
func swagger2Params(op map[string]interface{}) {
	for _, p := range op["parameters"].([]map[string]interface{}) {
		delete(p, "schema")
		p["type"] = "string"
		p["uniqueItems"] = true
	}
}
