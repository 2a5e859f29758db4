package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/quick"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// newTestScheduler is a scheduler over a fake API whose informers are not
// started: tests drive its cache directly.
func newTestScheduler(t testing.TB) *Scheduler {
	t.Helper()
	client := fake.NewSimpleClientset()
	s, err := New(client, informers.NewSharedInformerFactory(client, 0), newConfig(noElection()),
		func(string) record.EventRecorder { return record.NewFakeRecorder(1000) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func noElection() Options {
	o := DefaultOptions()
	o.LeaderElect = false
	o.Parallelism = 4
	return o
}

// randomPod builds a pod with random app/init/sidecar requests, overhead,
// an extended resource, host port, anti-affinity or spread.
func randomPod(rng *rand.Rand, i int) *corev1.Pod {
	m := func(max int) string { return fmt.Sprintf("%dm", rng.IntN(max)) }
	mi := func(max int) string { return fmt.Sprintf("%dMi", rng.IntN(max)) }
	w := schedtest.MakePod().Name(fmt.Sprint("p", i)).Label("app", fmt.Sprint("a", rng.IntN(4))).
		Req("cpu", m(1500), "memory", mi(2048))
	if rng.IntN(4) == 0 {
		w = w.InitReq("cpu", m(3000))
	}
	if rng.IntN(4) == 0 {
		w = w.SidecarReq("cpu", m(500), "memory", mi(256))
	}
	if rng.IntN(6) == 0 {
		w = w.Overhead("cpu", m(300))
	}
	if rng.IntN(5) == 0 {
		w = w.ReqLim("example.com/gpu", fmt.Sprint(1+rng.IntN(2)))
	}
	if rng.IntN(6) == 0 {
		w = w.HostPort("", "", int32(8000+rng.IntN(3)))
	}
	if rng.IntN(6) == 0 {
		w = w.PodAntiAffinity(schedtest.PodAffinityTerm(corev1.LabelHostname, "app", fmt.Sprint("a", rng.IntN(4))))
	}
	if rng.IntN(6) == 0 {
		w = w.Spread(1, corev1.LabelTopologyZone, corev1.DoNotSchedule, "app", fmt.Sprint("a", rng.IntN(4)))
	}
	return w.Obj()
}

// TestQuickNeverOvercommitted: whatever the cluster and the sequence of
// pods, assumes and forgets, no node's requests exceed its allocatable.
func TestQuickNeverOvercommitted(t *testing.T) {
	ctx := context.Background()
	property := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := newTestScheduler(t)
		fwk := s.profiles[corev1.DefaultSchedulerName]
		for i := range 1 + rng.IntN(15) {
			s.cache.AddNode(schedtest.MakeNode().Name(fmt.Sprint("n", i)).Zone(fmt.Sprint("z", rng.IntN(3))).Capacity(
				"cpu", fmt.Sprint(1+rng.IntN(8)), "memory", fmt.Sprintf("%dGi", 1+rng.IntN(8)),
				"pods", fmt.Sprint(1+rng.IntN(10)), "example.com/gpu", fmt.Sprint(rng.IntN(3))).Obj())
		}
		var assumed []*corev1.Pod
		for i := range 200 {
			if rng.IntN(8) == 0 && len(assumed) > 0 {
				k := rng.IntN(len(assumed))
				s.cache.ForgetPod(assumed[k])
				assumed = append(assumed[:k], assumed[k+1:]...)
				continue
			}
			pod := randomPod(rng, i)
			s.cache.UpdateSnapshot(s.snapshot)
			host, err := s.schedulePod(ctx, fwk, framework.NewCycleState(), pod)
			if err != nil {
				continue
			}
			pod.Spec.NodeName = host
			if err := s.cache.AssumePod(framework.NewPodInfo(pod)); err != nil {
				t.Log(err)
				return false
			}
			assumed = append(assumed, pod)
			if msg := overcommitted(s.cache.Dump()); msg != "" {
				t.Logf("seed %d, pod %d: %s", seed, i, msg)
				return false
			}
		}
		return true
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 25}); err != nil {
		t.Fatal(err)
	}
}

func overcommitted(nodes map[string]*framework.NodeInfo) string {
	for name, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		r, a := &ni.Requested, &ni.Allocatable
		switch {
		case r.MilliCPU > a.MilliCPU, r.Memory > a.Memory, r.EphemeralStorage > a.EphemeralStorage && r.EphemeralStorage > 0,
			int64(len(ni.Pods)) > a.AllowedPodNumber:
			return fmt.Sprintf("node %s: requested %+v, allocatable %+v, %d pods", name, *r, *a, len(ni.Pods))
		}
		for res, v := range r.Scalar {
			if v > a.Scalar[res] {
				return fmt.Sprintf("node %s: %s %d > %d", name, res, v, a.Scalar[res])
			}
		}
	}
	return ""
}
