package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/scheduler"
	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// Scheduler benchmark sizes; SKIFF_BENCH_SCHED_NODES and
// SKIFF_BENCH_SCHED_PODS override them for quick runs.
const (
	schedBenchNodes   = 5000
	schedBenchPods    = 30000
	schedBenchClients = 16
	schedBenchNS      = "sched-bench"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSchedulerThroughput measures scheduling end to end through the
// API: an in-process server (etcd on tmpfs when /dev/shm exists, standing
// in for fsync off), N Node objects, the scheduler running in-process,
// and M pods with mixed requests, one in ten with hostname anti-affinity
// (groups of 10) or a zone spread constraint (groups of 20).
//
//   - streaming: 16 clients create the pods while the scheduler runs;
//     pods/s is from the first create to the last binding, p50/p99 the
//     latency from a pod's create request to its binding (seen on a watch).
//   - backlog: the pods exist before the scheduler starts; pods/s is from
//     its start to the last binding (informer sync included), which is the
//     scheduler's own rate without pod creation competing for the CPU.
//
// Both check that every pod is bound and no node's requests exceed its
// allocatable.
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
				total += r.elapsed
				cpu += r.cpu
				lat = append(lat, r.latencies...)
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

// schedBenchResult is one round: its duration, the process CPU time spent
// in it and, when streaming, the per-pod latencies.
type schedBenchResult struct {
	elapsed, cpu time.Duration
	latencies    []time.Duration
}

// processCPU is the CPU time (user+system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runSchedulerBench runs one round.
func runSchedulerBench(b *testing.B, numNodes, numPods int, backlog bool) schedBenchResult {
	srv := testserver.Start(b, func(o *server.Options) {
		if dir, err := os.MkdirTemp("/dev/shm", "skiff-sched-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(dir) })
			o.DataDir = dir
		}
	})
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	clients, err := schedBenchClientsets(srv.Config, schedBenchClients)
	if err != nil {
		b.Fatal(err)
	}
	if err := createNamespace(ctx, clients[0], schedBenchNS); err != nil {
		b.Fatal(err)
	}
	if err := parallelDo(ctx, clients, numNodes, func(c kubernetes.Interface, i int) error {
		_, err := c.CoreV1().Nodes().Create(ctx, schedBenchNode(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatalf("create nodes: %v", err)
	}
	created := make([]time.Time, numPods)
	createPods := func() {
		if err := parallelDo(ctx, clients, numPods, func(c kubernetes.Interface, i int) error {
			created[i] = time.Now()
			_, err := c.CoreV1().Pods(schedBenchNS).Create(ctx, schedBenchPod(i), metav1.CreateOptions{})
			return err
		}); err != nil {
			b.Fatalf("create pods: %v", err)
		}
	}
	if backlog {
		createPods()
	}

	// Watch bindings before the scheduler starts.
	w, err := clients[0].CoreV1().Pods(schedBenchNS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	bound := make(chan map[string]time.Time, 1)
	go func() { bound <- collectBindings(w, numPods) }()

	o := scheduler.DefaultOptions()
	o.LeaderElect = false
	schedDone := make(chan error, 1)
	b.StartTimer()
	start, cpuStart := time.Now(), processCPU()
	go func() { schedDone <- scheduler.Run(ctx, srv.Config, o) }()
	defer func() {
		cancel()
		if err := <-schedDone; err != nil {
			b.Errorf("scheduler: %v", err)
		}
	}()
	if !backlog {
		createPods()
		b.Logf("%d pods created in %v", numPods, time.Since(start).Round(time.Millisecond))
	}
	var bindings map[string]time.Time
	select {
	case bindings = <-bound:
	case <-time.After(10 * time.Minute):
		b.Fatal("pods not bound within 10 minutes")
	}
	cpu := processCPU() - cpuStart
	b.StopTimer()
	w.Stop()

	var last time.Time
	var lat []time.Duration
	for i := range numPods {
		t, ok := bindings[schedBenchPodName(i)]
		if !ok {
			b.Fatalf("pod %d never bound", i)
		}
		if t.After(last) {
			last = t
		}
		if !backlog {
			lat = append(lat, t.Sub(created[i]))
		}
	}
	elapsed := last.Sub(start)
	b.Logf("%d nodes, %d pods: all bound after %v (%.0f pods/s), process CPU %v (%.2f ms/pod)", numNodes, numPods,
		elapsed.Round(time.Millisecond), float64(numPods)/elapsed.Seconds(), cpu.Round(time.Millisecond),
		float64(cpu.Microseconds())/1000/float64(numPods))
	if err := checkPlacements(ctx, clients[0]); err != nil {
		b.Fatal(err)
	}
	return schedBenchResult{elapsed: elapsed, cpu: cpu, latencies: lat}
}

// collectBindings records when each pod was first seen bound, until n are.
func collectBindings(w watch.Interface, n int) map[string]time.Time {
	out := make(map[string]time.Time, n)
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			continue
		}
		if _, seen := out[p.Name]; !seen {
			out[p.Name] = time.Now()
			if len(out) == n {
				return out
			}
		}
	}
	return out
}

// checkPlacements verifies that no node's pod requests exceed its
// allocatable (cpu, memory, pod count).
func checkPlacements(ctx context.Context, c kubernetes.Interface) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(schedBenchNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	infos := map[string]*framework.NodeInfo{}
	for i := range nodes.Items {
		ni := framework.NewNodeInfo()
		ni.SetNode(&nodes.Items[i])
		infos[nodes.Items[i].Name] = ni
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		ni := infos[p.Spec.NodeName]
		if ni == nil {
			return fmt.Errorf("pod %s on unknown node %q", p.Name, p.Spec.NodeName)
		}
		ni.AddPod(p)
	}
	for name, ni := range infos {
		r, a := ni.Requested, ni.Allocatable
		if r.MilliCPU > a.MilliCPU || r.Memory > a.Memory || int64(len(ni.Pods)) > a.AllowedPodNumber {
			return fmt.Errorf("node %s overcommitted: cpu %dm/%dm memory %d/%d pods %d/%d",
				name, r.MilliCPU, a.MilliCPU, r.Memory, a.Memory, len(ni.Pods), a.AllowedPodNumber)
		}
	}
	return nil
}

// parallelDo runs fn for i in [0, n) spread over the clients.
func parallelDo(ctx context.Context, clients []kubernetes.Interface, n int, fn func(kubernetes.Interface, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(c, i); err != nil {
					cancel(fmt.Errorf("item %d: %w", i, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// schedBenchClientsets returns n protobuf clientsets, one connection each,
// without client-side rate limits.
func schedBenchClientsets(base *rest.Config, n int) ([]kubernetes.Interface, error) {
	out := make([]kubernetes.Interface, n)
	for i := range out {
		cfg := rest.CopyConfig(base)
		cfg.QPS, cfg.Burst = 1e6, 1e6
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// schedBenchNode is node i: 8, 16 or 32 cores, 32/64/128 GiB, 110 pods,
// in one of 10 zones.
func schedBenchNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse([]string{"8", "16", "32"}[i%3]),
		corev1.ResourceMemory: resource.MustParse([]string{"32Gi", "64Gi", "128Gi"}[i%3]),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%10)}},
		Status: corev1.NodeStatus{Capacity: rl, Allocatable: rl,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func schedBenchPodName(i int) string { return fmt.Sprintf("pod-%05d", i) }

// schedBenchPod is pod i: requests from 100m/128Mi to 1/1Gi; pods 7, 27,
// … (5%) have hostname anti-affinity within groups of 10, pods 17, 37, …
// (5%) a zone spread constraint within groups of 20.
func schedBenchPod(i int) *corev1.Pod {
	req := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse([]string{"100m", "250m", "500m", "1"}[i%4]),
		corev1.ResourceMemory: resource.MustParse([]string{"128Mi", "256Mi", "512Mi", "1Gi"}[(i/4)%4]),
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: schedBenchPodName(i), Labels: map[string]string{"app": fmt.Sprint("web-", i/50)}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: req}}}},
	}
	selector := func(app string) *metav1.LabelSelector {
		p.Labels["app"] = app
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	switch i % 20 {
	case 7:
		sel := selector(fmt.Sprint("anti-", i/200))
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel, TopologyKey: corev1.LabelHostname}}}}
	case 17:
		sel := selector(fmt.Sprint("spread-", i/400))
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel}}
	}
	return p
}
