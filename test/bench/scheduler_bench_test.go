package bench

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/bench/scheduling"
	"github.com/skiffhq/skiff/internal/scheduler"
	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// Scheduler benchmark sizes; SKIFF_BENCH_SCHED_NODES and
// SKIFF_BENCH_SCHED_PODS override them for quick runs.
const (
	schedBenchNodes = 5000
	schedBenchPods  = 30000
	schedBenchNS    = "sched-bench"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSchedulerThroughput measures scheduling end to end through the
// API with internal/bench/scheduling: an in-process server (etcd on tmpfs
// when /dev/shm exists, standing in for fsync off), N Node objects, the
// scheduler running in-process, and M pods with mixed requests, one in ten
// with hostname anti-affinity (groups of 10) or a zone spread constraint
// (groups of 20).
//
//   - streaming: 16 clients create the pods while the scheduler runs;
//     pods/s is from the first create to the last binding, p50/p99 the
//     latency from a pod's create request to its binding (seen on a watch).
//   - backlog: the pods exist before the scheduler starts; pods/s is from
//     its start to the last binding (informer sync included), which is the
//     scheduler's own rate without pod creation competing for the CPU.
//
// Both check that every pod is bound and no node's requests exceed its
// allocatable. `skiff bench scheduler` runs the streaming mode against a
// live server.
//
//	go test -run '^$' -bench SchedulerThroughput -benchtime 1x ./test/bench/
//	SKIFF_BENCH_SCHED_NODES=500 SKIFF_BENCH_SCHED_PODS=3000 go test ...
func BenchmarkSchedulerThroughput(b *testing.B) {
	skipShort(b)
	nodes := envInt("SKIFF_BENCH_SCHED_NODES", schedBenchNodes)
	pods := envInt("SKIFF_BENCH_SCHED_PODS", schedBenchPods)
	for _, mode := range []string{"streaming", "backlog"} {
		b.Run(mode, func(b *testing.B) {
			var total, cpu time.Duration
			var lat []time.Duration
			for range b.N {
				b.StopTimer()
				r := runSchedulerBench(b, nodes, pods, mode == "backlog")
				total += r.Elapsed
				cpu += r.CPU
				lat = append(lat, r.Latencies...)
			}
			b.ReportMetric(float64(pods*b.N)/total.Seconds(), "pods/s")
			// CPU of the whole process (server, etcd, scheduler, clients)
			// per pod: on a shared machine a steadier figure than pods/s.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(pods*b.N), "cpu-ms/pod")
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(percentileMs(lat, 0.50), "p50-ms")
				b.ReportMetric(percentileMs(lat, 0.99), "p99-ms")
			}
		})
	}
}

// runSchedulerBench runs one round against a fresh in-process server whose
// scheduler the round starts itself.
func runSchedulerBench(b *testing.B, numNodes, numPods int, backlog bool) scheduling.Result {
	srv := testserver.Start(b, func(o *server.Options) {
		if dir, err := os.MkdirTemp("/dev/shm", "skiff-sched-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(dir) })
			o.DataDir = dir
		}
	})
	so := scheduler.DefaultOptions()
	so.LeaderElect = false
	b.StartTimer()
	r, err := scheduling.Run(b.Context(), srv.Config, scheduling.Options{
		Nodes: numNodes, Pods: numPods, Clients: scheduling.DefaultClients,
		Backlog: backlog, Namespace: schedBenchNS, Log: benchLog{b},
		StartScheduler: func(ctx context.Context) error { return scheduler.Run(ctx, srv.Config, so) },
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("process CPU %v (%.2f ms/pod)", r.CPU.Round(time.Millisecond),
		float64(r.CPU.Microseconds())/1000/float64(numPods))
	return r
}

// benchLog writes progress lines to the benchmark's log.
type benchLog struct{ b *testing.B }

func (l benchLog) Write(p []byte) (int, error) {
	l.b.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
