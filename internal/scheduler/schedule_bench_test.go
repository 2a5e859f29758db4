package scheduler

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// benchPod is the benchmark workload: mixed requests; every tenth pod has
// hostname anti-affinity within its group of 10, or a zone spread
// constraint within its group of 20. Like skiff bench scheduler's pods,
// all carry a node selector that every node matches.
func benchPod(i int) *corev1.Pod {
	cpu := []string{"100m", "250m", "500m", "1"}[i%4]
	mem := []string{"128Mi", "256Mi", "512Mi", "1Gi"}[(i/4)%4]
	w := schedtest.MakePod().Name(fmt.Sprint("p", i)).Req("cpu", cpu, "memory", mem).NodeSelector(benchNodeLabel, "true")
	switch i % 20 {
	case 7:
		app := fmt.Sprint("anti-", i/200)
		w = w.Label("app", app).PodAntiAffinity(schedtest.PodAffinityTerm(corev1.LabelHostname, "app", app))
	case 17:
		app := fmt.Sprint("spread-", i/400)
		w = w.Label("app", app).Spread(1, corev1.LabelTopologyZone, corev1.DoNotSchedule, "app", app)
	default:
		w = w.Label("app", fmt.Sprint("web-", i/50))
	}
	return w.Obj()
}

// benchNodeLabel is on every benchmark node.
const benchNodeLabel = "bench"

func benchNode(i int) *corev1.Node {
	cpu := []string{"8", "16", "32"}[i%3]
	mem := []string{"32Gi", "64Gi", "128Gi"}[i%3]
	return schedtest.MakeNode().Name(fmt.Sprint("node-", i)).Zone(fmt.Sprint("zone-", i%10)).Label(benchNodeLabel, "true").
		Capacity("cpu", cpu, "memory", mem, "pods", "110").Obj()
}

// BenchmarkSchedulingCycle measures one scheduling decision (snapshot
// refresh, filter, score, assume) on a 5000-node cluster already running
// `existing` pods (spread round-robin), for plain pods and for the mixed
// workload of the end-to-end benchmark; it reports decisions per second.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, existing := range []int{0, 25000} {
		for _, mixed := range []bool{false, true} {
			name := fmt.Sprintf("nodes=5000/existing=%d/mixed=%v", existing, mixed)
			b.Run(name, func(b *testing.B) { benchmarkCycle(b, 5000, existing, mixed) })
		}
	}
}

// BenchmarkSchedulingCycleColdCache is the mixed workload of
// BenchmarkSchedulingCycle with the processor's caches flushed (64 MiB
// written) before every decision, as in a server where the API and etcd
// run between two cycles; it reports the decisions' own time
// (decide-ns/op), not the flushing.
func BenchmarkSchedulingCycleColdCache(b *testing.B) {
	b.Run("nodes=5000/existing=25000/mixed=true", func(b *testing.B) { runCycles(b, 5000, 25000, true, true) })
}

func benchmarkCycle(b *testing.B, nodes, existing int, mixed bool) {
	runCycles(b, nodes, existing, mixed, false)
}

func runCycles(b *testing.B, nodes, existing int, mixed, cold bool) {
	s := newTestScheduler(b)
	fwk := s.profiles[corev1.DefaultSchedulerName]
	for i := range nodes {
		s.cache.AddNode(benchNode(i))
	}
	for i := range existing {
		p := benchPod(1_000_000 + i)
		p.Spec.NodeName = fmt.Sprint("node-", i%nodes)
		s.cache.AddPod(p)
	}
	// The pods are built before the clock starts: building them costs
	// more allocations than scheduling them.
	pods := make([]*corev1.Pod, b.N)
	for i := range pods {
		pods[i] = benchPod(i)
		if !mixed {
			pods[i] = schedtest.MakePod().Name(fmt.Sprint("p", i)).Req("cpu", "100m", "memory", "128Mi").Label("app", "web").Obj()
		}
	}
	ctx := context.Background()
	s.cache.UpdateSnapshot(s.snapshot) // the first, full one is not a cycle's
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	var flush []byte
	if cold {
		flush = make([]byte, 64<<20)
	}
	var deciding time.Duration
	var t0 time.Time
	for i, pod := range pods {
		if cold {
			for j := 0; j < len(flush); j += 64 {
				flush[j]++
			}
			t0 = time.Now()
		}
		s.cache.UpdateSnapshot(s.snapshot)
		host, err := s.schedulePod(ctx, fwk, framework.NewCycleState(), pod)
		if err != nil {
			b.Fatalf("pod %d: %v", i, err)
		}
		if cold {
			deciding += time.Since(t0)
		}
		pod.Spec.NodeName = host
		if err := s.cache.AssumePod(framework.NewPodInfo(pod)); err != nil {
			b.Fatal(err)
		}
	}
	if cold {
		b.ReportMetric(float64(deciding.Nanoseconds())/float64(b.N), "decide-ns/op")
		return
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time (user and system) the test process used so
// far: on a shared machine it is steadier than wall time, and it counts
// what parallel filtering and garbage collection cost besides.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
