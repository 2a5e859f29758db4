package plugins_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	"github.com/skiffhq/skiff/internal/scheduler/schedtest"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// TestDefaultBinderBindsThroughAPI: against a real API server the binder
// sets the pod's node, and refuses (Conflict) a binding for another pod of
// the same name (the UID guard).
func TestDefaultBinderBindsThroughAPI(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx := context.Background()
	fwk, err := framework.New(framework.Profile{SchedulerName: corev1.DefaultSchedulerName,
		Plugins: []framework.PluginSpec{{Name: plugins.DefaultBinderName}}},
		plugins.NewRegistry(), framework.Env{Client: srv.Client, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		pod := schedtest.MakePod().Name(n).Req("cpu", "100m").Obj()
		pod.UID = ""
		if _, err := srv.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		pod      string
		staleUID bool
		wantNode string
		wantCode framework.Code
	}{
		{name: "binds", pod: "a", wantNode: "node-1", wantCode: framework.Success},
		{name: "another pod of the same name", pod: "b", staleUID: true, wantCode: framework.Error},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := srv.Client.CoreV1().Pods("default").Get(ctx, tc.pod, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.staleUID {
				pod.UID = "an-earlier-pod"
			}
			st := fwk.RunBindPlugins(ctx, framework.NewCycleState(), pod, "node-1")
			if st.Code() != tc.wantCode {
				t.Fatalf("bind: %v, want code %v", st, tc.wantCode)
			}
			if tc.staleUID && !apierrors.IsConflict(st.AsError()) {
				t.Fatalf("bind with a stale UID: %v, want Conflict", st.AsError())
			}
			got, err := srv.Client.CoreV1().Pods("default").Get(ctx, tc.pod, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Spec.NodeName != tc.wantNode {
				t.Fatalf("pod's node %q, want %q", got.Spec.NodeName, tc.wantNode)
			}
		})
	}
}
