package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// rawClient sends requests with the admin credentials.
func rawClient(t *testing.T, s *testserver.Server) *http.Client {
	t.Helper()
	c, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func do(t *testing.T, c *http.Client, method, url, contentType string, body []byte) (int, metav1.Status) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var st metav1.Status
	_ = json.Unmarshal(data, &st)
	return resp.StatusCode, st
}

func TestBadInputIsRefusedAndNothingStored(t *testing.T) {
	s := testserver.Start(t, nil)
	c := rawClient(t, s)
	cms := s.URL + "/api/v1/namespaces/default/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 3*1024*1024+10) + `"}}`
	for _, tc := range []struct {
		name        string
		url         string
		contentType string
		body        string
		wantCode    int
		wantReason  metav1.StatusReason
		wantMessage string
		storedName  string
	}{
		{"malformed json", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"`,
			400, metav1.StatusReasonBadRequest, "", "a"},
		{"malformed yaml", cms, "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n",
			400, metav1.StatusReasonBadRequest, "error converting YAML to JSON", "b"},
		{"wrong kind", cms, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c"}}`,
			400, metav1.StatusReasonBadRequest, "does not match the expected kind", "c"},
		{"wrong apiVersion", cms, "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"d"}}`,
			400, metav1.StatusReasonBadRequest, "the API version in the data (apps/v1) does not match the expected API version (v1)", "d"},
		{"unknown field strict", cms + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"e"},"spec":{}}`,
			400, metav1.StatusReasonBadRequest, `strict decoding error: unknown field "spec"`, "e"},
		{"duplicate field strict", cms + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f","name":"f"}}`,
			400, metav1.StatusReasonBadRequest, `duplicate field "metadata.name"`, "f"},
		{"oversized body", cms, "application/json", big, 413, metav1.StatusReasonRequestEntityTooLarge, "", "big"},
		{"name not a DNS subdomain", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}`,
			422, metav1.StatusReasonInvalid, `metadata.name: Invalid value: "Bad_Name"`, "Bad_Name"},
		{"unsupported media type", cms, "text/plain", `hello`, 415, metav1.StatusReasonUnsupportedMediaType, "", "hello"},
		{"invalid pod", s.URL + "/api/v1/namespaces/default/pods", "application/json",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}`,
			422, metav1.StatusReasonInvalid, "spec.containers[0].image: Required value", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st := do(t, c, http.MethodPost, tc.url, tc.contentType, []byte(tc.body))
			if code != tc.wantCode || st.Reason != tc.wantReason || int(st.Code) != tc.wantCode || st.Kind != "Status" {
				t.Fatalf("got %d %s (%+v), want %d %s", code, st.Reason, st, tc.wantCode, tc.wantReason)
			}
			if !strings.Contains(st.Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", st.Message, tc.wantMessage)
			}
			if tc.storedName != "" {
				if code, _ := do(t, c, http.MethodGet, cms+"/"+tc.storedName, "", nil); code != http.StatusNotFound {
					t.Errorf("object %q was stored (GET answered %d)", tc.storedName, code)
				}
			}
		})
	}
}

func TestInvalidHasFieldCauses(t *testing.T) {
	s := testserver.Start(t, nil)
	c := rawClient(t, s)
	body := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`
	code, st := do(t, c, http.MethodPost, s.URL+"/apis/apps/v1/namespaces/default/deployments", "application/json", []byte(body))
	if code != 422 || st.Details == nil || st.Details.Kind != "Deployment" || st.Details.Group != "apps" {
		t.Fatalf("got %d %+v", code, st)
	}
	found := false
	for _, cause := range st.Details.Causes {
		if cause.Field == "spec.template.metadata.labels" && cause.Type == metav1.CauseTypeFieldValueInvalid {
			found = true
		}
	}
	if !found {
		t.Fatalf("no cause for spec.template.metadata.labels in %+v", st.Details.Causes)
	}
}

func TestUnauthenticatedGets401(t *testing.T) {
	s := testserver.Start(t, nil)
	cfg := rest.AnonymousClientConfig(s.Config)
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	code, st := do(t, c, http.MethodGet, s.URL+"/api/v1/namespaces", "", nil)
	if code != http.StatusUnauthorized || st.Reason != metav1.StatusReasonUnauthorized {
		t.Fatalf("got %d %+v", code, st)
	}
	if code, _ := do(t, c, http.MethodGet, s.URL+"/readyz", "", nil); code != http.StatusOK {
		t.Fatalf("/readyz without credentials: %d", code)
	}
}

func TestMethodNotAllowedAndUnknownPaths(t *testing.T) {
	s := testserver.Start(t, nil)
	c := rawClient(t, s)
	if code, st := do(t, c, http.MethodGet, s.URL+"/api/v1/nosuchthings", "", nil); code != 404 || st.Reason != metav1.StatusReasonNotFound {
		t.Fatalf("unknown resource: %d %+v", code, st)
	}
	if code, st := do(t, c, http.MethodDelete, s.URL+"/api/v1/namespaces", "", nil); code != 405 || st.Reason != metav1.StatusReasonMethodNotAllowed {
		t.Fatalf("deletecollection of namespaces: %d %+v", code, st)
	}
}

func TestMetricsExposeRequests(t *testing.T) {
	s := testserver.Start(t, nil)
	c := rawClient(t, s)
	do(t, c, http.MethodGet, s.URL+"/api/v1/namespaces/default/configmaps", "", nil)
	resp, err := c.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`apiserver_request_total{code="200",group="",resource="configmaps",subresource="",verb="LIST",version="v1"}`,
		"apiserver_request_duration_seconds_bucket",
		"etcd_request_duration_seconds_bucket",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
