package apiserver

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/internal/apiserver/envelope"
)

// maxBodyBytes is the largest request body accepted (as upstream: 3 MiB).
const maxBodyBytes = 3 * 1024 * 1024

// readBody reads a request body, refusing bodies over maxBodyBytes with 413.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, apierrors.NewBadRequest("request body is required")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return data, nil
}

// fieldValidation is the fieldValidation query parameter.
type fieldValidation string

const (
	validateIgnore fieldValidation = "Ignore"
	validateWarn   fieldValidation = "Warn"
	validateStrict fieldValidation = "Strict"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "":
		return validateWarn, nil
	case string(validateIgnore), string(validateWarn), string(validateStrict):
		return fieldValidation(v), nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %v", v))
	}
}

// bodyToJSON converts a JSON or YAML body to JSON according to Content-Type.
func bodyToJSON(r *http.Request, data []byte) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt := mediaJSON
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, unsupportedMediaType(ct)
		}
	}
	switch mt {
	case mediaJSON:
		return data, nil
	case mediaYAML, "application/x-yaml", "text/yaml":
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error converting YAML to JSON: %v", err))
		}
		return j, nil
	}
	return nil, unsupportedMediaType(ct)
}

func unsupportedMediaType(ct string) error {
	return newUnsupportedMediaType(fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf", ct))
}

// newUnsupportedMediaType is a 415 Status.
func newUnsupportedMediaType(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
		Reason: metav1.StatusReasonUnsupportedMediaType, Message: msg,
	}}
}

// decodeObject decodes a JSON, YAML or protobuf body into a new object of
// the resource's kind, honouring fieldValidation. It returns the warnings
// for unknown or duplicate fields under Warn.
func (s *Server) decodeObject(r *http.Request, h *resourceHandler, data []byte) (runtime.Object, []string, error) {
	fv, err := parseFieldValidation(r)
	if err != nil {
		return nil, nil, err
	}
	want := h.res.GroupVersionKind()
	obj := h.res.NewServed()
	var warnings []string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == mediaProtobuf {
		if err := s.decodeProtobuf(data, want, obj); err != nil {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	} else {
		js, err := bodyToJSON(r, data)
		if err != nil {
			return nil, nil, err
		}
		if warnings, err = s.decodeJSON(js, want, obj, fv); err != nil {
			return nil, nil, err
		}
	}
	stored, err := h.res.ToStorage(obj)
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	return stored, warnings, nil
}

// decodeJSON decodes js into obj, checking apiVersion and kind.
func (s *Server) decodeJSON(js []byte, want schema.GroupVersionKind, obj runtime.Object, fv fieldValidation) ([]string, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("couldn't get version/kind; json parse error: %v", err))
	}
	if err := typeMismatch(tm.APIVersion, tm.Kind, want); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	dec := s.ser.json
	if fv != validateIgnore {
		dec = s.ser.jsonStrict
	}
	_, _, err := dec.Decode(js, &want, obj)
	var warnings []string
	if err != nil && runtime.IsStrictDecodingError(err) {
		if fv == validateStrict {
			return nil, cannotBeHandled(want, err)
		}
		if sde, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range sde.Errors() {
				warnings = append(warnings, e.Error())
			}
		}
		_, _, err = s.ser.json.Decode(js, &want, obj)
	}
	if err != nil {
		return nil, cannotBeHandled(want, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return warnings, nil
}

func cannotBeHandled(gvk schema.GroupVersionKind, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %s", gvk.Kind, gvk.Version, gvk.Kind, msg))
}

// decodeOptions decodes a small request object (options, Binding, Scale)
// in any supported body format, ignoring unknown fields.
func (s *Server) decodeOptions(r *http.Request, data []byte, gvk schema.GroupVersionKind, into runtime.Object) error {
	if contentTypeOf(r) == mediaProtobuf {
		return s.decodeProtobuf(data, gvk, into)
	}
	js, err := bodyToJSON(r, data)
	if err != nil {
		return err
	}
	_, _, err = s.ser.json.Decode(js, &gvk, into)
	return err
}

// decodeProtobuf decodes a protobuf body into into: in place when the
// envelope names into's own kind (no copy of the body, as a pod create or
// binding has), else through apimachinery's decoder.
func (s *Server) decodeProtobuf(data []byte, gvk schema.GroupVersionKind, into runtime.Object) error {
	if ok, err := envelope.Unmarshal(data, s.cfg.Scheme, into); ok {
		return err
	}
	out, got, err := s.ser.protobuf.Decode(data, &gvk, into)
	if err != nil {
		return err
	}
	if out != into && got != nil {
		// The body is of another kind, which the decoder made an object of.
		return typeMismatch(got.GroupVersion().String(), got.Kind, gvk)
	}
	return nil
}

// typeMismatch is the error for a body whose apiVersion or kind (either
// may be empty: not given) is not the expected one, or nil.
func typeMismatch(apiVersion, kind string, want schema.GroupVersionKind) error {
	if apiVersion != "" && apiVersion != want.GroupVersion().String() {
		return fmt.Errorf("the API version in the data (%s) does not match the expected API version (%s)", apiVersion, want.GroupVersion().String())
	}
	if kind != "" && kind != want.Kind {
		return fmt.Errorf("the kind in the data (%s) does not match the expected kind (%s)", kind, want.Kind)
	}
	return nil
}
