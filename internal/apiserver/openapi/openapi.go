// Package openapi turns the generated definitions of the built-in types
// (package generated) into the schemas the API server publishes at
// /openapi/v2 and /openapi/v3 and types objects with for server-side apply.
//
// Schemas are keyed by their REST-friendly name ("io.k8s.api.core.v1.Pod")
// and carry x-kubernetes-group-version-kind for every kind the scheme
// registers with that Go type, which is how kubectl explain and
// structured-merge-diff find them.
package openapi

import (
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/skiffhq/skiff/internal/apiserver/openapi/generated"
)

// Reference prefixes of the two document formats.
const (
	RefPrefixV2 = "#/definitions/"
	RefPrefixV3 = "#/components/schemas/"
)

// gvkExtension is the vendor extension naming a schema's kinds.
const gvkExtension = "x-kubernetes-group-version-kind"

// Definitions builds the schemas once, on first use.
type Definitions struct {
	scheme *runtime.Scheme

	once sync.Once
	v2   map[string]*spec.Schema
	v3   map[string]*spec.Schema
	// names maps a kind to its schema name.
	names map[schema.GroupVersionKind]string
}

// New returns the definitions of every type in the generated package, with
// kinds taken from scheme.
func New(scheme *runtime.Scheme) *Definitions {
	return &Definitions{scheme: scheme}
}

// V2 returns the Swagger 2.0 schemas (refs to #/definitions/).
func (d *Definitions) V2() map[string]*spec.Schema {
	d.once.Do(d.build)
	return d.v2
}

// V3 returns the OpenAPI 3 schemas (refs to #/components/schemas/).
func (d *Definitions) V3() map[string]*spec.Schema {
	d.once.Do(d.build)
	return d.v3
}

// NameOf returns the schema name of a kind, or "".
func (d *Definitions) NameOf(gvk schema.GroupVersionKind) string {
	d.once.Do(d.build)
	return d.names[gvk]
}

func (d *Definitions) build() {
	d.names = map[schema.GroupVersionKind]string{}
	kinds := map[string][]interface{}{}
	for gvk, typ := range d.scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || typ.PkgPath() == "" {
			continue
		}
		name := util.ToRESTFriendlyName(typ.PkgPath() + "." + typ.Name())
		d.names[gvk] = name
		kinds[name] = append(kinds[name], map[string]interface{}{
			"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind,
		})
	}
	for _, list := range kinds {
		sort.Slice(list, func(i, j int) bool { return gvkKey(list[i]) < gvkKey(list[j]) })
	}
	d.v2 = definitions(RefPrefixV2, true, kinds)
	d.v3 = definitions(RefPrefixV3, false, kinds)
}

func gvkKey(v interface{}) string {
	m := v.(map[string]interface{})
	return m["group"].(string) + "/" + m["version"].(string) + "/" + m["kind"].(string)
}

// definitions renders the generated definitions with refs under prefix.
func definitions(prefix string, v2 bool, kinds map[string][]interface{}) map[string]*spec.Schema {
	ref := func(path string) spec.Ref { return spec.MustCreateRef(prefix + util.ToRESTFriendlyName(path)) }
	out := map[string]*spec.Schema{}
	for path, def := range generated.GetOpenAPIDefinitions(ref) {
		s := def.Schema
		if embedded, ok := s.Extensions[common.ExtensionV2Schema]; ok {
			if v2 {
				if es, ok := embedded.(spec.Schema); ok {
					s = es
				}
			} else {
				s.Extensions = withoutKey(s.Extensions, common.ExtensionV2Schema)
			}
		}
		name := util.ToRESTFriendlyName(path)
		if k := kinds[name]; len(k) > 0 {
			s.Extensions = withKey(s.Extensions, gvkExtension, k)
		}
		out[name] = &s
	}
	return out
}

func withoutKey(ext spec.Extensions, key string) spec.Extensions {
	out := spec.Extensions{}
	for k, v := range ext {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func withKey(ext spec.Extensions, key string, v interface{}) spec.Extensions {
	out := spec.Extensions{}
	for k, x := range ext {
		out[k] = x
	}
	out[strings.ToLower(key)] = v
	return out
}

// Closure returns the names of the schemas in defs that roots refer to,
// directly or not, roots included.
func Closure(defs map[string]*spec.Schema, prefix string, roots ...string) map[string]bool {
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] || defs[name] == nil {
			return
		}
		seen[name] = true
		walkRefs(defs[name], func(ref string) { visit(strings.TrimPrefix(ref, prefix)) })
	}
	for _, r := range roots {
		visit(r)
	}
	return seen
}

// walkRefs calls fn with every $ref inside s.
func walkRefs(s *spec.Schema, fn func(string)) {
	if s == nil {
		return
	}
	if r := s.Ref.String(); r != "" {
		fn(r)
	}
	for _, p := range s.Properties {
		p := p
		walkRefs(&p, fn)
	}
	if s.Items != nil {
		walkRefs(s.Items.Schema, fn)
		for i := range s.Items.Schemas {
			walkRefs(&s.Items.Schemas[i], fn)
		}
	}
	if s.AdditionalProperties != nil {
		walkRefs(s.AdditionalProperties.Schema, fn)
	}
	for _, group := range [][]spec.Schema{s.AllOf, s.OneOf, s.AnyOf} {
		for i := range group {
			walkRefs(&group[i], fn)
		}
	}
}
