package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/storage/etcd"
)

// everyone authenticates every request as an admin (unit tests only).
type everyone struct{}

func (everyone) Authenticate(*http.Request) (*auth.User, bool, error) {
	return &auth.User{Name: "test", Groups: []string{auth.GroupMasters}}, true, nil
}

func TestPanicBecomesInternalErrorStatus(t *testing.T) {
	e, err := etcd.StartEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res := registry.Define(registry.Resource{
		GVR: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Kind: "ConfigMap", Namespaced: true,
		New:     func() runtime.Object { return &corev1.ConfigMap{} },
		NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
	}, registry.Strategy[*corev1.ConfigMap]{
		Validate: func(*corev1.ConfigMap) field.ErrorList { panic("validator bug") },
	})
	s, err := New(Config{Storage: etcd.New(e.Client()), Resources: []*registry.Resource{res},
		Scheme: NewScheme(), Authenticator: everyone{}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/namespaces/default/configmaps", strings.NewReader(body)))
	var st metav1.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("body is not a Status: %s", rec.Body)
	}
	if rec.Code != 500 || st.Reason != metav1.StatusReasonInternalError || !strings.Contains(st.Message, "validator bug") {
		t.Fatalf("got %d %+v", rec.Code, st)
	}
	// The server keeps serving after the panic.
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/default/configmaps", nil))
	if rec.Code != 200 {
		t.Fatalf("list after panic: %d %s", rec.Code, rec.Body)
	}
}
