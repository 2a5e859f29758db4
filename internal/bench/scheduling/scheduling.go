package scheduling

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// bindTimeout bounds the wait for every pod to be bound.
const bindTimeout = 10 * time.Minute

// DefaultClients is how many pods are created at once by default: as
// many as upstream's scheduler_perf pod creator has in flight (30).
// Fewer leave the run bound by create latency (each create waits for its
// etcd commit) rather than by the scheduler.
const DefaultClients = 30

// boundSelector has the server send bound pods only: one event per pod.
const boundSelector = "spec.nodeName!="

// Options sizes one benchmark run.
type Options struct {
	// Nodes and Pods are how many of each to create.
	Nodes, Pods int
	// Clients is how many connections create objects in parallel
	// (default DefaultClients).
	Clients int
	// Backlog creates every pod before the scheduler starts and times from
	// its start; it needs StartScheduler. Otherwise pods are streamed in
	// while the scheduler runs and per-pod latencies are measured.
	Backlog bool
	// Namespace holds the pods (default "skiff-bench"); created if missing.
	Namespace string
	// Log receives progress lines (default: discarded).
	Log io.Writer
	// StartScheduler, when set, runs a scheduler until its context ends:
	// Run calls it before creating pods (after, in backlog mode). Leave it
	// nil against a server whose scheduler is already running.
	StartScheduler func(ctx context.Context) error
}

// Result is what one run measured.
type Result struct {
	// PodsPerSecond is Pods over Elapsed.
	PodsPerSecond float64
	// PerSecond samples the bindings seen in each whole second of Elapsed,
	// as upstream's scheduler_perf samples throughput; its median is the
	// sustained rate, which ramp-up and tail do not pull down.
	PerSecond []int
	// P50 and P99 are per-pod latencies from the create request to the
	// binding seen on a watch (zero in backlog mode).
	P50, P99 time.Duration
	// Elapsed runs from the first pod create (backlog: the scheduler's
	// start) to the last binding.
	Elapsed time.Duration
	// CPU is this process's CPU time over Elapsed: the whole cluster's when
	// it runs in-process.
	CPU time.Duration
	// Latencies are the per-pod latencies, sorted.
	Latencies   []time.Duration
	Nodes, Pods int
}

// Run creates o.Nodes nodes and o.Pods pods through the API of cfg's
// cluster, waits until every pod is bound, checks that no node's pod
// requests exceed its allocatable and deletes the nodes and pods again.
func Run(ctx context.Context, cfg *rest.Config, o Options) (res Result, err error) {
	if o.Nodes <= 0 || o.Pods <= 0 {
		return Result{}, fmt.Errorf("nodes and pods must be positive, got %d and %d", o.Nodes, o.Pods)
	}
	if o.Backlog && o.StartScheduler == nil {
		return Result{}, errors.New("backlog mode needs a scheduler started by the benchmark")
	}
	if o.Clients <= 0 {
		o.Clients = DefaultClients
	}
	if o.Namespace == "" {
		o.Namespace = "skiff-bench"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	clients, err := clientsets(cfg, o.Clients)
	if err != nil {
		return Result{}, err
	}
	c := clients[0]
	if err := ensureNamespace(ctx, c, o.Namespace); err != nil {
		return Result{}, err
	}
	// Leftovers of an interrupted run would collide with the new names.
	if err := cleanup(ctx, c, o.Namespace); err != nil {
		return Result{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		fmt.Fprintf(o.Log, "deleting %d pods and %d nodes\n", o.Pods, o.Nodes)
		err = errors.Join(err, cleanup(cctx, c, o.Namespace))
	}()

	if err := parallelDo(ctx, clients, o.Nodes, func(c kubernetes.Interface, i int) error {
		_, err := c.CoreV1().Nodes().Create(ctx, benchNode(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return Result{}, fmt.Errorf("create nodes: %w", err)
	}
	fmt.Fprintf(o.Log, "%d nodes created\n", o.Nodes)

	created := make([]time.Time, o.Pods)
	createPods := func() error {
		err := parallelDo(ctx, clients, o.Pods, func(c kubernetes.Interface, i int) error {
			created[i] = time.Now()
			return createPod(ctx, c, o.Namespace, benchPod(i))
		})
		if err != nil {
			return fmt.Errorf("create pods: %w", err)
		}
		return nil
	}
	if o.Backlog {
		if err := createPods(); err != nil {
			return Result{}, err
		}
	}

	// Watch bindings before the scheduler starts. The field selector has
	// the server send bound pods only (one event per pod, not two), which
	// keeps the benchmark's own share of the machine small.
	pods, err := podMetadata(cfg, o.Namespace)
	if err != nil {
		return Result{}, err
	}
	now, err := pods.List(ctx, metav1.ListOptions{LabelSelector: benchSelector, FieldSelector: boundSelector, Limit: 1})
	if err != nil {
		return Result{}, fmt.Errorf("list pods: %w", err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	bound := make(chan map[string]time.Time, 1)
	watchErr := make(chan error, 1)
	go func() {
		b, err := collectBindings(watchCtx, pods, now.ResourceVersion, o.Pods)
		bound <- b
		watchErr <- err
	}()

	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	start, cpuStart := time.Now(), processCPU()
	if o.StartScheduler != nil {
		go func() { schedDone <- o.StartScheduler(schedCtx) }()
		defer func() {
			stopSched()
			if serr := <-schedDone; serr != nil && !errors.Is(serr, context.Canceled) {
				err = errors.Join(err, fmt.Errorf("scheduler: %w", serr))
			}
		}()
	}
	defer stopSched()
	if !o.Backlog {
		if err := createPods(); err != nil {
			return Result{}, err
		}
		fmt.Fprintf(o.Log, "%d pods created in %v\n", o.Pods, time.Since(start).Round(time.Millisecond))
	}
	var bindings map[string]time.Time
	select {
	case bindings = <-bound:
		if err := <-watchErr; err != nil {
			return Result{}, fmt.Errorf("watch bound pods: %w", err)
		}
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(bindTimeout):
		return Result{}, fmt.Errorf("pods not bound within %v", bindTimeout)
	}
	cpu := processCPU() - cpuStart

	res = Result{CPU: cpu, Nodes: o.Nodes, Pods: o.Pods}
	var last time.Time
	for i := range o.Pods {
		t, ok := bindings[podName(i)]
		if !ok {
			return Result{}, fmt.Errorf("pod %s never bound (watch ended after %d bindings)", podName(i), len(bindings))
		}
		if t.After(last) {
			last = t
		}
		if !o.Backlog {
			res.Latencies = append(res.Latencies, t.Sub(created[i]))
		}
	}
	slices.Sort(res.Latencies)
	res.Elapsed = last.Sub(start)
	res.PodsPerSecond = float64(o.Pods) / res.Elapsed.Seconds()
	res.PerSecond = perSecond(bindings, start, last)
	res.P50, res.P99 = Percentile(res.Latencies, 0.50), Percentile(res.Latencies, 0.99)
	fmt.Fprintf(o.Log, "%d nodes, %d pods: all bound after %v (%.0f pods/s)\n", o.Nodes, o.Pods,
		res.Elapsed.Round(time.Millisecond), res.PodsPerSecond)
	if err := checkPlacements(ctx, c); err != nil {
		return Result{}, err
	}
	return res, nil
}

// perSecond counts the bindings in each whole second from start on; the
// last, partial second is left out.
func perSecond(bindings map[string]time.Time, start, last time.Time) []int {
	counts := make([]int, int(last.Sub(start)/time.Second))
	for _, t := range bindings {
		if i := int(t.Sub(start) / time.Second); i >= 0 && i < len(counts) {
			counts[i]++
		}
	}
	return counts
}

// Median is the median of samples (the lower one of an even count), 0
// when there are none.
func Median(samples []int) int {
	s := slices.Clone(samples)
	slices.Sort(s)
	return Percentile(s, 0.5)
}

// Percentile is the q-quantile (0 < q ≤ 1, nearest rank) of sorted; zero
// when sorted is empty.
func Percentile[T cmp.Ordered](sorted []T, q float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(rank, 0)]
}

// ensureNamespace creates the namespace unless it exists.
func ensureNamespace(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// cleanup deletes the benchmark's pods in ns, at once (their nodes run no
// agent to finish a graceful deletion), and its nodes.
func cleanup(ctx context.Context, c kubernetes.Interface, ns string) error {
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: benchSelector}
	if err := c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
		return fmt.Errorf("delete benchmark pods: %w", err)
	}
	if err := c.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		return fmt.Errorf("delete benchmark nodes: %w", err)
	}
	return nil
}

// collectBindings records when each pod was first seen bound, watching
// from resourceVersion rv until n are or ctx ends. The server ends the
// watch of a client that falls behind, as upstream does with slow
// watchers; the watch then resumes from the last version seen. The field
// selector has the server send bound pods only, so the pods' metadata is
// all the watch needs: their specs stay undecoded.
func collectBindings(ctx context.Context, pods metadata.ResourceInterface, rv string, n int) (map[string]time.Time, error) {
	out := make(map[string]time.Time, n)
	for len(out) < n {
		w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: benchSelector, FieldSelector: boundSelector,
			ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			return out, err
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				w.Stop()
				return out, apierrors.FromObject(ev.Object)
			}
			p, ok := ev.Object.(*metav1.PartialObjectMetadata)
			if !ok {
				continue
			}
			rv = p.ResourceVersion
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			if _, seen := out[p.Name]; !seen {
				out[p.Name] = time.Now()
				if len(out) == n {
					break
				}
			}
		}
		w.Stop()
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// checkPlacements verifies that no benchmark node's pod requests (every
// namespace's pods) exceed its allocatable cpu, memory and pod count.
func checkPlacements(ctx context.Context, c kubernetes.Interface) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
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
			if p.Labels[benchLabelKey] == benchLabelValue {
				return fmt.Errorf("pod %s on non-benchmark node %q", p.Name, p.Spec.NodeName)
			}
			continue
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
