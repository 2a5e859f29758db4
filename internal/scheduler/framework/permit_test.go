package framework_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// gate is a Permit plugin that holds every pod for timeout; binder a Bind
// plugin that records the node.
type gate struct{ timeout time.Duration }

func (*gate) Name() string { return "Gate" }
func (g *gate) Permit(context.Context, *framework.CycleState, *corev1.Pod, string) (*framework.Status, time.Duration) {
	return framework.NewStatus(framework.Wait), g.timeout
}

type binder struct{ bound string }

func (*binder) Name() string { return "Binder" }
func (b *binder) Bind(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, node string) *framework.Status {
	b.bound = node
	return nil
}

func newGated(t *testing.T, timeout time.Duration) (*framework.Framework, *binder) {
	t.Helper()
	b := &binder{}
	reg := framework.Registry{
		"Gate":   func(json.RawMessage, framework.Handle) (framework.Plugin, error) { return &gate{timeout: timeout}, nil },
		"Binder": func(json.RawMessage, framework.Handle) (framework.Plugin, error) { return b, nil },
	}
	f, err := framework.New(framework.Profile{SchedulerName: "s", Plugins: []framework.PluginSpec{{Name: "Gate"}, {Name: "Binder"}}},
		reg, framework.Env{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	return f, b
}

func TestPermitWaitAllow(t *testing.T) {
	f, b := newGated(t, time.Minute)
	ctx := context.Background()
	pod := st.MakePod().Obj()
	state := framework.NewCycleState()
	if s := f.RunPermitPlugins(ctx, state, pod, "n1"); !s.IsWait() {
		t.Fatalf("permit = %v, want Wait", s)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		f.WaitingPod(string(pod.UID)).Allow("Gate")
	}()
	if s := f.WaitOnPermit(ctx, pod); !s.IsSuccess() {
		t.Fatalf("wait = %v", s)
	}
	if s := f.RunBindPlugins(ctx, state, pod, "n1"); !s.IsSuccess() || b.bound != "n1" {
		t.Fatalf("bind = %v, bound %q", s, b.bound)
	}
	if f.WaitingPod(string(pod.UID)) != nil {
		t.Error("pod still waiting")
	}
}

func TestPermitTimeoutRejects(t *testing.T) {
	f, _ := newGated(t, 20*time.Millisecond)
	pod := st.MakePod().Obj()
	ctx := context.Background()
	f.RunPermitPlugins(ctx, framework.NewCycleState(), pod, "n1")
	s := f.WaitOnPermit(ctx, pod)
	if s.Code() != framework.Unschedulable || s.Plugin() != "Gate" {
		t.Fatalf("wait = %v (plugin %q), want Unschedulable from Gate", s, s.Plugin())
	}
}
