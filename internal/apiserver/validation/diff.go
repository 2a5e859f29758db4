package validation

import (
	"fmt"
	"reflect"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// changedFields lists the JSON paths under prefix where a and b differ,
// descending through structs and equal-length slices. It makes "field is
// immutable" style errors say which field was touched.
func changedFields(prefix string, a, b reflect.Value) []string {
	if apiequality.Semantic.DeepEqual(a.Interface(), b.Interface()) {
		return nil
	}
	switch a.Kind() {
	case reflect.Struct:
		var out []string
		for i := 0; i < a.NumField(); i++ {
			name := jsonName(a.Type().Field(i))
			if name == "" {
				continue
			}
			out = append(out, changedFields(prefix+"."+name, a.Field(i), b.Field(i))...)
		}
		if len(out) == 0 {
			return []string{prefix}
		}
		return out
	case reflect.Slice:
		if a.Len() != b.Len() {
			return []string{prefix}
		}
		var out []string
		for i := 0; i < a.Len(); i++ {
			out = append(out, changedFields(fmt.Sprintf("%s[%d]", prefix, i), a.Index(i), b.Index(i))...)
		}
		return out
	default:
		return []string{prefix}
	}
}

// jsonName returns a struct field's JSON name, or "" when it is not serialized.
func jsonName(f reflect.StructField) string {
	tag := strings.Split(f.Tag.Get("json"), ",")[0]
	if tag == "-" || !f.IsExported() {
		return ""
	}
	if tag == "" {
		return f.Name
	}
	return tag
}
