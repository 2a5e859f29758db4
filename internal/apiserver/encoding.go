package apiserver

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/skiffhq/skiff/internal/apiserver/envelope"
)

// Media types the server speaks.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// outputFormat is the negotiated response format.
type outputFormat struct {
	MediaType string
	// As is "", "Table", "PartialObjectMetadata" or "PartialObjectMetadataList".
	As string
	// AsVersion is the meta.k8s.io version of As ("v1" or "v1beta1").
	AsVersion string
	Pretty    bool
}

// contentType is the Content-Type header for the format.
func (f outputFormat) contentType() string {
	if f.As == "" {
		return f.MediaType
	}
	return f.MediaType + ";as=" + f.As + ";g=meta.k8s.io;v=" + f.AsVersion
}

// serializers holds the encoders and decoders of built-in types.
type serializers struct {
	scheme      *runtime.Scheme
	json        *json.Serializer
	jsonStrict  *json.Serializer
	jsonPretty  *json.Serializer
	yaml        *json.Serializer
	protobuf    *protobuf.Serializer
	protobufRaw *protobuf.RawSerializer
}

func newSerializers(scheme *runtime.Scheme) *serializers {
	mf := json.DefaultMetaFactory
	return &serializers{
		scheme:      scheme,
		json:        json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{}),
		jsonStrict:  json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Strict: true}),
		jsonPretty:  json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Pretty: true}),
		yaml:        json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Yaml: true}),
		protobuf:    protobuf.NewSerializer(scheme, scheme),
		protobufRaw: protobuf.NewRawSerializer(scheme, scheme),
	}
}

// negotiate picks the response format from the Accept header.
func negotiate(r *http.Request) (outputFormat, error) {
	accept := r.Header.Get("Accept")
	pretty := isTrue(r.URL.Query().Get("pretty"))
	if accept == "" {
		return outputFormat{MediaType: mediaJSON, Pretty: pretty}, nil
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		f := outputFormat{Pretty: pretty || params["pretty"] == "1"}
		switch mt {
		case mediaJSON, "*/*", "application/*", "application/json-patch+json":
			f.MediaType = mediaJSON
		case mediaYAML:
			f.MediaType = mediaYAML
		case mediaProtobuf:
			f.MediaType = mediaProtobuf
		default:
			continue
		}
		if as := params["as"]; as != "" {
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
				if as == "Table" && f.MediaType == mediaProtobuf {
					continue // tables are JSON or YAML only
				}
				f.As, f.AsVersion = as, params["v"]
			default:
				continue
			}
		}
		return f, nil
	}
	return outputFormat{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

// encode writes obj (whose GVK must be set) in the format.
func (s *serializers) encode(f outputFormat, obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch f.MediaType {
	case mediaYAML:
		err = s.yaml.Encode(obj, &buf)
	case mediaProtobuf:
		// Generated types are written in one allocation, without the
		// serializer's copy into buf.
		data, ok, err := envelope.Marshal(obj, obj.GetObjectKind().GroupVersionKind())
		if ok {
			if err != nil {
				return nil, fmt.Errorf("encode %T: %w", obj, err)
			}
			return data, nil
		}
		err = s.protobuf.Encode(obj, &buf)
	default:
		if f.Pretty {
			err = s.jsonPretty.Encode(obj, &buf)
		} else {
			err = s.json.Encode(obj, &buf)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	return buf.Bytes(), nil
}

// setKind stamps the kind of obj from the scheme when it has none.
func (s *serializers) setKind(obj runtime.Object, gv schema.GroupVersion) {
	if !obj.GetObjectKind().GroupVersionKind().Empty() {
		return
	}
	gvks, _, err := s.scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return
	}
	for _, gvk := range gvks {
		if gvk.GroupVersion() == gv {
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			return
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
}
