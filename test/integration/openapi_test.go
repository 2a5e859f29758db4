package integration

import (
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"k8s.io/client-go/openapi3"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestOpenAPIDocumentsDescribeTypes(t *testing.T) {
	s := testserver.Start(t, nil)
	root := openapi3.NewRoot(s.Client.Discovery().OpenAPIV3())
	for _, tc := range []struct {
		name      string
		gv        string
		schema    string
		wantField string
		wantDesc  string
	}{
		{"core pod", "v1", "io.k8s.api.core.v1.Pod", "spec", "Specification of the desired behavior of the pod."},
		{"apps deployment", "apps/v1", "io.k8s.api.apps.v1.Deployment", "spec", "Specification of the desired behavior of the Deployment."},
		{"batch cronjob", "batch/v1", "io.k8s.api.batch.v1.CronJob", "spec", "Specification of the desired behavior of a cron job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gv := strings.SplitN(tc.gv, "/", 2)
			var doc struct {
				Components struct {
					Schemas map[string]struct {
						Properties map[string]struct {
							Description string `json:"description"`
						} `json:"properties"`
						GVK []map[string]string `json:"x-kubernetes-group-version-kind"`
					} `json:"schemas"`
				} `json:"components"`
				Paths map[string]json.RawMessage `json:"paths"`
			}
			gvObj := groupVersion(gv)
			raw, err := root.GVSpecAsMap(gvObj)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(raw)
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			sch, ok := doc.Components.Schemas[tc.schema]
			if !ok {
				t.Fatalf("schema %s missing", tc.schema)
			}
			if len(sch.GVK) == 0 {
				t.Errorf("schema %s has no x-kubernetes-group-version-kind", tc.schema)
			}
			if !strings.Contains(sch.Properties[tc.wantField].Description, tc.wantDesc) {
				t.Errorf("%s.%s description %q", tc.schema, tc.wantField, sch.Properties[tc.wantField].Description)
			}
			if len(doc.Paths) == 0 {
				t.Errorf("no paths")
			}
		})
	}
	resp, err := rawClient(t, s).Get(s.URL + "/openapi/v2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v2 struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(body, &v2); err != nil {
		t.Fatal(err)
	}
	if _, ok := v2.Definitions["io.k8s.api.core.v1.Pod"]; !ok {
		t.Errorf("/openapi/v2 lacks the Pod definition")
	}
	// kubectl's validation fails on any reference without a definition.
	for _, m := range refPattern.FindAllStringSubmatch(string(body), -1) {
		if _, ok := v2.Definitions[m[1]]; !ok {
			t.Errorf("/openapi/v2 refers to undefined %s", m[1])
		}
	}
}

var refPattern = regexp.MustCompile(`"\$ref":"#/definitions/([^"]+)"`)
