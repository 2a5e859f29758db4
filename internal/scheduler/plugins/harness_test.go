package plugins_test

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
)

// env is a framework over a snapshot of pods and nodes, with a fake API.
type env struct {
	fwk    *framework.Framework
	snap   *framework.Snapshot
	client *fake.Clientset
}

// newEnv builds a framework running specs (a binder is added) over the
// pods and nodes; objects are also loaded into the fake API.
func newEnv(t *testing.T, pods []*corev1.Pod, nodes []*corev1.Node, specs []framework.PluginSpec, objs ...runtime.Object) *env {
	t.Helper()
	snap := framework.NewSnapshot(pods, nodes)
	for _, p := range pods {
		objs = append(objs, p)
	}
	for _, ns := range []string{"default", "other"} {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	client := fake.NewSimpleClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	specs = append(specs, framework.PluginSpec{Name: plugins.DefaultBinderName})
	fwk, err := framework.New(framework.Profile{SchedulerName: corev1.DefaultSchedulerName, Plugins: specs},
		plugins.NewRegistry(), framework.Env{Client: client, Informers: factory, Snapshot: snap, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return &env{fwk: fwk, snap: snap, client: client}
}

func spec(name string) []framework.PluginSpec { return []framework.PluginSpec{{Name: name}} }

func specArgs(name string, args any) []framework.PluginSpec {
	raw, _ := json.Marshal(args)
	return []framework.PluginSpec{{Name: name, Args: raw}}
}

// filter runs PreFilter and Filter of the env's plugins for pod on node and
// returns the status.
func (e *env) filter(t *testing.T, pod *corev1.Pod, node string) *framework.Status {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	if _, st := e.fwk.RunPreFilterPlugins(ctx, state, pod); !st.IsSuccess() {
		return st
	}
	ni, err := e.snap.Get(node)
	if err != nil {
		t.Fatal(err)
	}
	return e.fwk.RunFilterPlugins(ctx, state, pod, ni)
}

// scores runs PreScore and Score over every node and returns the final
// (normalized, weighted) score per node name.
func (e *env) scores(t *testing.T, pod *corev1.Pod) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	nodes := e.snap.List()
	if st := e.fwk.RunPreScorePlugins(ctx, state, pod, nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	totals, st := e.fwk.RunScorePlugins(ctx, state, pod, nodes, nil)
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	out := map[string]int64{}
	for i, ni := range nodes {
		out[ni.Node().Name] = totals[i]
	}
	return out
}

// wantStatus compares code and reasons.
func wantStatus(t *testing.T, got *framework.Status, code framework.Code, reasons ...string) {
	t.Helper()
	want := framework.NewStatus(code, reasons...)
	if code == framework.Success {
		want = nil
	}
	if !got.Equal(want) {
		t.Errorf("status = %v, want %v", got, want)
	}
}

func equalScores(t *testing.T, got, want map[string]int64) {
	t.Helper()
	for n, w := range want {
		if got[n] != w {
			t.Errorf("scores = %v, want %v", got, want)
			return
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
