package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestTableNegotiation asks for server-side tables with the Accept headers
// clients send, as upstream's API server answers them: Tables come as JSON
// or YAML only, so a protobuf Table clause is skipped for the next one, and
// the Table's version is the one asked for; includeObject takes Object,
// Metadata or None.
func TestTableNegotiation(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "configmap", "neg", "--from-literal=a=1")
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("http client: %v", err)
	}
	const path = "/api/v1/namespaces/default/configmaps"

	tests := []struct {
		name           string
		accept         string
		query          string
		wantCode       int
		wantKind       string // kind and apiVersion of the body
		wantAPIVersion string
	}{
		{
			name:     "json table",
			accept:   "application/json;as=Table;v=v1;g=meta.k8s.io",
			wantCode: http.StatusOK, wantKind: "Table", wantAPIVersion: "meta.k8s.io/v1",
		},
		{
			name:     "yaml table",
			accept:   "application/yaml;as=Table;v=v1;g=meta.k8s.io",
			wantCode: http.StatusOK, wantKind: "Table", wantAPIVersion: "meta.k8s.io/v1",
		},
		{
			// kubectl before 1.15 and some clients still ask for v1beta1.
			name:     "v1beta1 table",
			accept:   "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
			wantCode: http.StatusOK, wantKind: "Table", wantAPIVersion: "meta.k8s.io/v1beta1",
		},
		{
			name:     "protobuf table is skipped for the json table that follows",
			accept:   "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1;g=meta.k8s.io",
			wantCode: http.StatusOK, wantKind: "Table", wantAPIVersion: "meta.k8s.io/v1",
		},
		{
			name:     "protobuf table is skipped for plain json",
			accept:   "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json",
			wantCode: http.StatusOK, wantKind: "ConfigMapList", wantAPIVersion: "v1",
		},
		{
			name:     "includeObject=None",
			accept:   "application/json;as=Table;v=v1;g=meta.k8s.io",
			query:    "?includeObject=None",
			wantCode: http.StatusOK, wantKind: "Table", wantAPIVersion: "meta.k8s.io/v1",
		},
		{
			name:     "an unknown includeObject is a bad request",
			accept:   "application/json;as=Table;v=v1;g=meta.k8s.io",
			query:    "?includeObject=Everything",
			wantCode: http.StatusBadRequest,
		},
		{
			name:     "protobuf table alone is not acceptable",
			accept:   "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
			wantCode: http.StatusNotAcceptable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, strings.TrimRight(cfg.Host, "/")+path+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", tc.accept)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d (Content-Type %q), want %d; body %.300q", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantCode, body)
			}
			if tc.wantKind == "" {
				return
			}
			var tm struct{ Kind, APIVersion string }
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
				if !strings.Contains(string(body), "kind: "+tc.wantKind+"\n") || !strings.Contains(string(body), "apiVersion: "+tc.wantAPIVersion+"\n") {
					t.Errorf("body is not a %s %s:\n%.300s", tc.wantAPIVersion, tc.wantKind, body)
				}
				return
			}
			if err := json.Unmarshal(body, &tm); err != nil {
				t.Fatalf("decode body (Content-Type %q): %v; body %.300q", resp.Header.Get("Content-Type"), err, body)
			}
			if tm.Kind != tc.wantKind || tm.APIVersion != tc.wantAPIVersion {
				t.Errorf("body is %s %s, want %s %s", tm.APIVersion, tm.Kind, tc.wantAPIVersion, tc.wantKind)
			}
		})
	}
}
