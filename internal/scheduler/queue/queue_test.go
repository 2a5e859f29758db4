package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

func newTestQueue() (*Queue, *testingclock.FakeClock) {
	clk := testingclock.NewFakeClock(time.Unix(1000, 0))
	q := New(Options{Clock: clk, PluginEvents: map[string][]framework.ClusterEvent{
		"NodeResourcesFit": {{Resource: framework.Node, ActionType: framework.Add}, {Resource: framework.AssignedPod, ActionType: framework.Delete}},
		"TaintToleration":  {{Resource: framework.Node, ActionType: framework.UpdateNodeTaint}},
	}})
	return q, clk
}

func pop(t *testing.T, q *Queue) *QueuedPodInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() { <-ctx.Done(); q.cond.Broadcast() }()
	qi, err := q.Pop(ctx)
	if err != nil {
		t.Fatal("pop: queue empty")
	}
	return qi
}

func TestActiveOrder(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(st.MakePod().Name("low-old").Priority(1).Obj())
	clk.Step(time.Second)
	q.Add(st.MakePod().Name("high").Priority(10).Obj())
	clk.Step(time.Second)
	q.Add(st.MakePod().Name("low-new").Priority(1).Obj())
	for _, want := range []string{"high", "low-old", "low-new"} {
		if got := pop(t, q).Pod.Name; got != want {
			t.Fatalf("popped %s, want %s", got, want)
		}
	}
}

func TestBackoffDoubles(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(st.MakePod().Name("p").Obj())
	wantBackoff := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, want := range wantBackoff {
		qi := pop(t, q)
		q.AddUnschedulable(qi, nil) // no plugins: an error, so backoff
		q.Done(qi.Pod.UID)
		clk.Step(want - time.Millisecond)
		q.FlushBackoffCompleted()
		if a, _, _ := q.Counts(); a != 0 {
			t.Fatalf("attempt %d: active before %v", i+1, want)
		}
		clk.Step(time.Millisecond)
		q.FlushBackoffCompleted()
		if a, _, _ := q.Counts(); a != 1 {
			t.Fatalf("attempt %d: not active after %v", i+1, want)
		}
	}
}

func TestUnschedulableMovesOnRelevantEvent(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(st.MakePod().Name("p").Obj())
	qi := pop(t, q)
	qi.UnschedulablePlugins = sets.New("NodeResourcesFit")
	q.AddUnschedulable(qi, nil)
	q.Done(qi.Pod.UID)
	if _, _, u := q.Counts(); u != 1 {
		t.Fatal("not parked as unschedulable")
	}
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, ActionType: framework.UpdateNodeTaint}, nil)
	if _, _, u := q.Counts(); u != 1 {
		t.Fatal("moved on an event its plugin did not register")
	}
	clk.Step(2 * time.Second)
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add}, nil)
	if a, _, u := q.Counts(); a != 1 || u != 0 {
		t.Fatalf("counts after node add: active %d unschedulable %d", a, u)
	}
}

func TestEventWhileInFlightGoesToBackoff(t *testing.T) {
	q, _ := newTestQueue()
	q.Add(st.MakePod().Name("p").Obj())
	qi := pop(t, q)
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.Delete}, nil)
	qi.UnschedulablePlugins = sets.New("NodeResourcesFit")
	q.AddUnschedulable(qi, nil)
	if _, b, u := q.Counts(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d, want the pod in backoff", b, u)
	}
}

func TestLeftoverFlush(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(st.MakePod().Name("p").Obj())
	qi := pop(t, q)
	qi.UnschedulablePlugins = sets.New("TaintToleration")
	q.AddUnschedulable(qi, nil)
	q.Done(qi.Pod.UID)
	clk.Step(DefaultMaxInUnschedulable - time.Second)
	q.FlushUnschedulableLeftover()
	if _, _, u := q.Counts(); u != 1 {
		t.Fatal("flushed too early")
	}
	clk.Step(time.Second)
	q.FlushUnschedulableLeftover()
	if a, _, _ := q.Counts(); a != 1 {
		t.Fatal("not flushed after 5 minutes")
	}
}

func TestUpdateAndDelete(t *testing.T) {
	q, clk := newTestQueue()
	p := st.MakePod().Name("p").Obj()
	q.Add(p)
	qi := pop(t, q)
	qi.UnschedulablePlugins = sets.New("TaintToleration")
	q.AddUnschedulable(qi, nil)
	q.Done(qi.Pod.UID)
	clk.Step(time.Minute)

	statusOnly := p.DeepCopy()
	statusOnly.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
	q.Update(p, statusOnly)
	if _, _, u := q.Counts(); u != 1 {
		t.Fatal("a status update retried the pod")
	}
	tolerating := statusOnly.DeepCopy()
	tolerating.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	q.Update(statusOnly, tolerating)
	if a, _, _ := q.Counts(); a != 1 {
		t.Fatal("a spec update did not retry the pod")
	}
	q.Delete(tolerating)
	if a, b, u := q.Counts(); a+b+u != 0 {
		t.Fatal("delete left the pod queued")
	}
}

func TestDeletedWhileInFlightIsDropped(t *testing.T) {
	q, _ := newTestQueue()
	p := st.MakePod().Name("p").Obj()
	q.Add(p)
	qi := pop(t, q)
	q.Delete(p)
	q.AddUnschedulable(qi, nil)
	q.Done(p.UID)
	if a, b, u := q.Counts(); a+b+u != 0 {
		t.Fatal("deleted pod requeued")
	}
}

func TestNominator(t *testing.T) {
	q, _ := newTestQueue()
	p := st.MakePod().Name("p").Priority(5).NominatedNode("n1").Obj()
	q.Add(p)
	if got := q.Nominator().NominatedPodsForNode("n1"); len(got) != 1 {
		t.Fatalf("nominated on n1: %d", len(got))
	}
	qi := pop(t, q)
	moved := "n2"
	q.AddUnschedulable(qi, &moved)
	q.Done(p.UID)
	if len(q.Nominator().NominatedPodsForNode("n1")) != 0 || len(q.Nominator().NominatedPodsForNode("n2")) != 1 {
		t.Fatal("nomination not moved to n2")
	}
	// An update without a nomination keeps the in-memory one.
	plain := p.DeepCopy()
	plain.Status.NominatedNodeName = ""
	q.Update(plain, plain.DeepCopy())
	if len(q.Nominator().NominatedPodsForNode("n2")) != 1 {
		t.Fatal("in-memory nomination lost")
	}
	q.DeleteNomination(p)
	if len(q.Nominator().NominatedPodsForNode("n2")) != 0 {
		t.Fatal("nomination not deleted")
	}
}
