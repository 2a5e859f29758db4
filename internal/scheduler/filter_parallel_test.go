package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestParallelFilteringIsSequential: filtering on several goroutines finds
// the same feasible nodes, in the same order, records the same rejections
// and moves the next cycle's start the same way as one goroutine does, on
// clusters large enough that filtering stops early, pod after pod.
func TestParallelFilteringIsSequential(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := context.Background()
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 11))
		seq, par := schedulerWithParallelism(t, 1), schedulerWithParallelism(t, 4)
		for i := range 150 + rng.IntN(300) {
			w := schedtest.MakeNode().Name(fmt.Sprint("n", i)).Zone(fmt.Sprint("z", rng.IntN(4))).
				Capacity("cpu", fmt.Sprint(1+rng.IntN(4)), "memory", "8Gi", "pods", "20")
			if rng.IntN(10) == 0 {
				w = w.Unschedulable()
			}
			node := w.Obj()
			seq.cache.AddNode(node)
			par.cache.AddNode(node.DeepCopy())
		}
		for i := range 120 {
			pod := randomPod(rng, i)
			var results [2]string
			var hosts [2]string
			for k, s := range []*Scheduler{seq, par} {
				fwk := s.profiles[corev1.DefaultSchedulerName]
				s.cache.UpdateSnapshot(s.snapshot)
				feasible, diag, err := s.findNodesThatFit(ctx, fwk, framework.NewCycleState(), pod)
				if err != nil {
					t.Fatalf("seed %d pod %d: %v", seed, i, err)
				}
				results[k] = describeFilterResult(feasible, diag, s.nextStartNodeIndex)
				if len(feasible) > 0 {
					hosts[k] = feasible[len(feasible)/2].Name()
				}
			}
			if results[0] != results[1] {
				t.Fatalf("seed %d pod %d:\none goroutine: %s\nfour:         %s", seed, i, results[0], results[1])
			}
			if hosts[0] == "" {
				continue
			}
			for _, s := range []*Scheduler{seq, par} {
				p := pod.DeepCopy()
				p.Spec.NodeName = hosts[0]
				if err := s.cache.AssumePod(framework.NewPodInfo(p)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func schedulerWithParallelism(t *testing.T, n int) *Scheduler {
	t.Helper()
	s := newTestScheduler(t)
	// Helpers from the first node on, or these small clusters would be
	// filtered by one goroutine whatever n is.
	s.parallelism = framework.NewParallelizer(n).HelpAfter(0)
	return s
}

// describeFilterResult renders what filtering decided.
func describeFilterResult(feasible []*framework.NodeInfo, diag framework.Diagnosis, next int) string {
	names := make([]string, len(feasible))
	for i, ni := range feasible {
		names[i] = ni.Name()
	}
	var rejected []string
	for node, st := range diag.NodeToStatus {
		rejected = append(rejected, node+"="+st.Plugin()+":"+st.Message())
	}
	slices.Sort(rejected)
	return fmt.Sprintf("feasible %v; rejected %v; next start %d", names, rejected, next)
}
