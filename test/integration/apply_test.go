package integration

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestServerSideApplyTwoManagers(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	apply := func(manager, body string, force bool) error {
		_, err := cms.Patch(ctx, "shared", types.ApplyPatchType, []byte(body),
			metav1.PatchOptions{FieldManager: manager, Force: ptr.To(force)})
		return err
	}
	if err := apply("alice", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"a":"1","b":"1"}}`, false); err != nil {
		t.Fatalf("first apply creates: %v", err)
	}
	err := apply("bob", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"a":"2","c":"1"}}`, false)
	if !apierrors.IsConflict(err) {
		t.Fatalf("bob changing alice's field: want 409 Conflict, got %v", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != ".data.a" ||
		st.Details.Causes[0].Message != `conflict with "alice"` {
		t.Fatalf("conflict causes: %+v", st.Details)
	}
	if err := apply("bob", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"a":"2","c":"1"}}`, true); err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	// alice drops b from her intent: b is removed since only she owned it;
	// a now belongs to bob and stays.
	if err := apply("alice", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{}}`, false); err != nil {
		t.Fatalf("alice re-applies: %v", err)
	}
	cm, err := cms.Get(ctx, "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "2", "c": "1"}
	if len(cm.Data) != len(want) || cm.Data["a"] != "2" || cm.Data["c"] != "1" {
		t.Fatalf("data = %v, want %v", cm.Data, want)
	}
	managers := map[string]string{}
	for _, e := range cm.ManagedFields {
		managers[e.Manager] = string(e.Operation)
	}
	if managers["bob"] != "Apply" {
		t.Errorf("managedFields: %v", managers)
	}
	// A plain update is recorded as an Update by its manager.
	cm.Data["d"] = "1"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "carol"}); err != nil {
		t.Fatal(err)
	}
	cm, _ = cms.Get(ctx, "shared", metav1.GetOptions{})
	found := false
	for _, e := range cm.ManagedFields {
		if e.Manager == "carol" && e.Operation == metav1.ManagedFieldsOperationUpdate {
			found = true
		}
	}
	if !found {
		t.Errorf("carol's update not in managedFields: %+v", cm.ManagedFields)
	}
	_, err = cms.Patch(ctx, "shared", types.ApplyPatchType, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"}}`), metav1.PatchOptions{})
	if !apierrors.IsBadRequest(err) {
		t.Errorf("apply without fieldManager: want 400, got %v", err)
	}
}
