// Package podstartup measures pod startup latency on a live cluster with a
// node agent: the time from a pod's create request to the client seeing it
// Ready, for pods whose image is already on the node, created in batches.
package podstartup

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/bench/scheduling"
)

// benchLabel marks the benchmark's pods.
const benchLabel = "skiff.dev/bench-startup"

// Options size a run.
type Options struct {
	Pods, Batch int
	Namespace   string
	// Image must be present on the nodes (the default, skiff's busybox, is
	// imported by every agent).
	Image string
	// Timeout bounds waiting for one batch.
	Timeout time.Duration
	Log     io.Writer
}

// DefaultOptions are the issue's: 100 pods, 10 at a time.
func DefaultOptions() Options {
	return Options{Pods: 100, Batch: 10, Namespace: "skiff-bench-startup", Image: images.BusyboxImageRef,
		Timeout: 2 * time.Minute, Log: io.Discard}
}

// Result holds each pod's create-to-Ready latency, sorted, and its
// create-to-bound latency (the scheduler's share), sorted.
type Result struct {
	Latencies          []time.Duration
	P50, P99           time.Duration
	Bound              []time.Duration
	BoundP50, BoundP99 time.Duration
	Elapsed            time.Duration
}

// Run creates the pods batch by batch (the next batch once the previous is
// Ready), measures, then deletes them.
func Run(ctx context.Context, cfg *rest.Config, o Options) (Result, error) {
	if o.Pods <= 0 || o.Batch <= 0 {
		return Result{}, fmt.Errorf("--pods and --batch must be positive, got %d and %d", o.Pods, o.Batch)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1 // no client-side throttling: the batch is created at once
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Result{}, err
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return Result{}, fmt.Errorf("create namespace: %w", err)
	}
	defer cleanup(context.WithoutCancel(ctx), c, o.Namespace)
	w, err := c.CoreV1().Pods(o.Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: benchLabel})
	if err != nil {
		return Result{}, err
	}
	defer w.Stop()
	progress := make(chan podProgress, 2*o.Pods)
	go watchProgress(w, progress)

	var res Result
	start := time.Now()
	for first := 0; first < o.Pods; first += o.Batch {
		n := min(o.Batch, o.Pods-first)
		created := make(map[string]time.Time, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := first; i < first+n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("startup-%04d", i)
				mu.Lock()
				created[name] = time.Now()
				mu.Unlock()
				if _, err := c.CoreV1().Pods(o.Namespace).Create(ctx, benchPod(name, o.Image), metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return Result{}, fmt.Errorf("create pod: %w", err)
		}
		deadline := time.After(o.Timeout)
		for len(created) > 0 {
			select {
			case ev := <-progress:
				t0, ok := created[ev.name]
				if !ok {
					continue
				}
				if !ev.ready {
					res.Bound = append(res.Bound, time.Since(t0))
					continue
				}
				res.Latencies = append(res.Latencies, time.Since(t0))
				delete(created, ev.name)
			case <-deadline:
				return Result{}, fmt.Errorf("%d pods of the batch from %d not Ready after %v", len(created), first, o.Timeout)
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
		}
		fmt.Fprintf(o.Log, "%d/%d pods Ready\n", first+n, o.Pods)
	}
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	slices.Sort(res.Bound)
	res.P50, res.P99 = scheduling.Percentile(res.Latencies, 0.5), scheduling.Percentile(res.Latencies, 0.99)
	res.BoundP50, res.BoundP99 = scheduling.Percentile(res.Bound, 0.5), scheduling.Percentile(res.Bound, 0.99)
	return res, nil
}

// podProgress is a pod seen bound to a node (ready false) or Ready.
type podProgress struct {
	name  string
	ready bool
}

// watchProgress reports each pod the first time it is seen bound and the
// first time it is seen Ready (a pod seen Ready first is reported bound
// just before).
func watchProgress(w watch.Interface, out chan<- podProgress) {
	bound, ready := map[string]bool{}, map[string]bool{}
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ready[p.Name] {
			continue
		}
		if p.Spec.NodeName != "" && !bound[p.Name] {
			bound[p.Name] = true
			out <- podProgress{name: p.Name}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready[p.Name] = true
				out <- podProgress{name: p.Name, ready: true}
			}
		}
	}
}

// benchPod is a pod that sleeps, with a small request so the scheduler
// places it like a real workload.
func benchPod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchLabel: "true"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
			Containers: []corev1.Container{{
				Name: "sleep", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "3600"},
			}},
		},
	}
}

// cleanup deletes the benchmark pods and waits until they are gone, so a
// following run starts on an idle node.
func cleanup(ctx context.Context, c kubernetes.Interface, ns string) {
	sel := metav1.ListOptions{LabelSelector: benchLabel}
	_ = c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		l, err := c.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil || len(l.Items) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
