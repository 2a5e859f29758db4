package apiserver

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/skiffhq/skiff/internal/apiserver/openapi"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// openAPIDocs are the rendered documents, built once on first request
// (building takes a few hundred milliseconds, which start-up need not pay).
type openAPIDocs struct {
	once    sync.Once
	err     error
	v2JSON  []byte
	v2Proto []byte
	// v3 maps "api/v1", "apis/apps/v1", ... to the document.
	v3     map[string][]byte
	v3Root []byte
}

const mediaOpenAPIv2Proto = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

func (s *Server) openAPI() (*openAPIDocs, error) {
	d := &s.openapiDocs
	d.once.Do(func() { d.err = s.buildOpenAPI(d) })
	return d, d.err
}

// serveOpenAPIv2 answers the Swagger 2.0 document, as protobuf when asked
// (client-go asks for it that way) or JSON.
func (s *Server) serveOpenAPIv2(w http.ResponseWriter, r *http.Request) {
	d, err := s.openAPI()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		w.Header().Set("Content-Type", mediaOpenAPIv2Proto)
		_, _ = w.Write(d.v2Proto)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(d.v2JSON)
}

// serveOpenAPIv3 answers the discovery root or one group version's document.
func (s *Server) serveOpenAPIv3(w http.ResponseWriter, r *http.Request) {
	d, err := s.openAPI()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/openapi/v3"), "/")
	data := d.v3Root
	if rest != "" {
		if data = d.v3[rest]; data == nil {
			s.writeStatus(w, r, notFoundPath())
			return
		}
	}
	w.Header().Set("Content-Type", mediaJSON)
	_, _ = w.Write(data)
}

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func (s *Server) buildOpenAPI(d *openAPIDocs) error {
	defs := s.defs
	info := map[string]string{"title": "Kubernetes", "version": s.cfg.Version.GitVersion}
	d.v3 = map[string][]byte{}
	root := map[string]interface{}{}
	allPaths := map[string]interface{}{}
	var allRoots []string
	for _, gv := range s.order {
		paths, roots := s.gvPaths(gv, defs, openapi.RefPrefixV3)
		schemas := map[string]*spec.Schema{}
		v3 := defs.V3()
		for name := range openapi.Closure(v3, openapi.RefPrefixV3, roots...) {
			schemas[name] = v3[name]
		}
		doc, err := json.Marshal(map[string]interface{}{
			"openapi": "3.0.0", "info": info, "paths": paths,
			"components": map[string]interface{}{"schemas": schemas},
		})
		if err != nil {
			return fmt.Errorf("encode openapi v3 %s: %w", gv, err)
		}
		sum := sha512.Sum512(doc)
		d.v3[gvPath(gv)] = doc
		root[gvPath(gv)] = map[string]string{"serverRelativeURL": "/openapi/v3/" + gvPath(gv) + "?hash=" + strings.ToUpper(hex.EncodeToString(sum[:]))}
		v2paths, _ := s.gvPaths(gv, defs, openapi.RefPrefixV2)
		for p, item := range v2paths {
			allPaths[p] = item
		}
		allRoots = append(allRoots, roots...)
	}
	var err error
	if d.v3Root, err = json.Marshal(map[string]interface{}{"paths": root}); err != nil {
		return err
	}
	// Like upstream, v2 carries only the schemas the paths reach.
	v2 := defs.V2()
	v2defs := map[string]*spec.Schema{}
	for name := range openapi.Closure(v2, openapi.RefPrefixV2, allRoots...) {
		v2defs[name] = v2[name]
	}
	return s.buildOpenAPIv2(d, info, allPaths, v2defs)
}

func (s *Server) buildOpenAPIv2(d *openAPIDocs, info map[string]string, paths map[string]interface{}, defs map[string]*spec.Schema) error {
	for _, item := range paths {
		for _, op := range item.(map[string]interface{}) {
			swagger2Operation(op.(map[string]interface{}))
		}
	}
	js, err := json.Marshal(map[string]interface{}{"swagger": "2.0", "info": info, "paths": paths, "definitions": defs})
	if err != nil {
		return fmt.Errorf("encode openapi v2: %w", err)
	}
	parsed, err := openapiv2.ParseDocument(js)
	if err != nil {
		return fmt.Errorf("parse openapi v2: %w", err)
	}
	pb, err := proto.Marshal(parsed)
	if err != nil {
		return fmt.Errorf("encode openapi v2: %w", err)
	}
	d.v2JSON, d.v2Proto = js, pb
	return nil
}

// gvPaths describes every path and operation of one group version and
// returns the schema names the operations refer to.
func (s *Server) gvPaths(gv schema.GroupVersion, defs *openapi.Definitions, prefix string) (map[string]interface{}, []string) {
	paths := map[string]interface{}{}
	var roots []string
	for _, r := range s.cfg.Resources {
		if r.GVR.GroupVersion() != gv {
			continue
		}
		kind, list := defs.NameOf(r.GroupVersionKind()), defs.NameOf(gv.WithKind(r.Kind+"List"))
		roots = append(roots, kind, list)
		base := "/" + gvPath(gv) + "/"
		if r.Namespaced {
			base += "namespaces/{namespace}/"
		}
		base += r.GVR.Resource
		gvk := map[string]string{"group": gv.Group, "version": gv.Version, "kind": r.Kind}
		op := func(action, body, resp string, params ...string) map[string]interface{} {
			return operation(action, r, gvk, prefix, body, resp, params...)
		}
		paths[base] = map[string]interface{}{
			"get":  op("list", "", list, "limit", "continue", "labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch", "watch", "allowWatchBookmarks", "sendInitialEvents", "timeoutSeconds"),
			"post": op("create", kind, kind, "dryRun", "fieldManager", "fieldValidation"),
		}
		paths[base+"/{name}"] = map[string]interface{}{
			"get":    op("read", "", kind),
			"put":    op("replace", kind, kind, "dryRun", "fieldManager", "fieldValidation"),
			"patch":  op("patch", "", kind, "dryRun", "fieldManager", "fieldValidation", "force"),
			"delete": op("delete", "", "", "dryRun", "gracePeriodSeconds", "propagationPolicy"),
		}
		for _, sub := range r.Subresources {
			paths[base+"/{name}/"+sub] = map[string]interface{}{
				"get":   op("read", "", kind),
				"put":   op("replace", kind, kind, "dryRun", "fieldManager", "fieldValidation"),
				"patch": op("patch", "", kind, "dryRun", "fieldManager", "fieldValidation", "force"),
			}
		}
	}
	return paths, roots
}

// operation is one OpenAPI 3 operation; body and resp name schemas.
func operation(action string, r *registry.Resource, gvk map[string]string, prefix, body, resp string, params ...string) map[string]interface{} {
	ps := make([]map[string]interface{}, 0, len(params))
	for _, p := range params {
		ps = append(ps, map[string]interface{}{"name": p, "in": "query", "schema": map[string]string{"type": "string"}})
	}
	op := map[string]interface{}{
		"operationId":                     action + r.Kind,
		"parameters":                      ps,
		"responses":                       map[string]interface{}{"200": response(prefix, resp)},
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": gvk,
	}
	if body != "" {
		op["requestBody"] = map[string]interface{}{"content": map[string]interface{}{
			"*/*": map[string]interface{}{"schema": map[string]string{"$ref": prefix + body}}}}
	}
	return op
}

func response(prefix, name string) map[string]interface{} {
	out := map[string]interface{}{"description": "OK"}
	if name != "" {
		out["content"] = map[string]interface{}{"application/json": map[string]interface{}{
			"schema": map[string]string{"$ref": prefix + name}}}
	}
	return out
}

// swagger2Operation rewrites an OpenAPI 3 operation into Swagger 2.0 form.
func swagger2Operation(op map[string]interface{}) {
	params := op["parameters"].([]map[string]interface{})
	for _, p := range params {
		delete(p, "schema")
		p["type"] = "string"
		p["uniqueItems"] = true
	}
	if body, ok := op["requestBody"].(map[string]interface{}); ok {
		schema := body["content"].(map[string]interface{})["*/*"].(map[string]interface{})["schema"]
		params = append(params, map[string]interface{}{"name": "body", "in": "body", "required": true, "schema": schema})
		delete(op, "requestBody")
	}
	op["parameters"] = params
	if resp, ok := op["responses"].(map[string]interface{})["200"].(map[string]interface{}); ok {
		if c, ok := resp["content"].(map[string]interface{}); ok {
			resp["schema"] = c["application/json"].(map[string]interface{})["schema"]
			delete(resp, "content")
		}
	}
}
