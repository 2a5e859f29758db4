package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

const (
	// ctrlNodes is the number of simulated nodes.
	ctrlNodes = 5000
	// ctrlReplicas is the Deployment's size.
	ctrlReplicas = 3000
	// ctrlIdleObjects is the least number of objects stored during the idle
	// measurement; ConfigMaps fill up what nodes and pods leave.
	ctrlIdleObjects = 10_000
	// ctrlIdleSettle is how long the cluster rests before the idle window.
	ctrlIdleSettle = 10 * time.Second
	// ctrlIdleWindow is how long idle CPU is measured.
	ctrlIdleWindow = 30 * time.Second
	// ctrlTimeout bounds each phase.
	ctrlTimeout = 10 * time.Minute
)

// BenchmarkControllersDeployment measures the controllers on a separate
// `skiff server` process with 5,000 Node objects, run by the simulated
// nodes (test/nodesim) that bind pods round-robin through pods/binding and
// report them ready. The controller manager (all controllers) runs in the
// benchmark process. One op:
//
//   - scale a Deployment (maxSurge 25%, maxUnavailable 25%) from 0 to 3,000
//     replicas: time until all 3,000 pods exist (created-s) and until the
//     Deployment reports all available (available-s);
//   - roll it to a new image: time until `kubectl rollout status` would
//     finish (rollout-s);
//   - with at least 10,000 objects stored, rest 10s, then measure CPU over
//     30s: the benchmark process (controller manager plus the idle node
//     simulator, idle-manager-millicores) and the server process
//     (idle-server-millicores).
func BenchmarkControllersDeployment(b *testing.B) {
	skipShort(b)
	for range b.N {
		runControllersBenchmark(b)
	}
}

func runControllersBenchmark(b *testing.B) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	server, cfg := startReadyServer(b)
	client := kubernetes.NewForConfigOrDie(protobufConfig(cfg))

	began := time.Now()
	nodesim.Start(b, client, nodesim.Options{Count: ctrlNodes, Prefix: "bench-node", Bind: true, Workers: 64})
	b.Logf("registered %d nodes in %v", ctrlNodes, time.Since(began).Round(time.Millisecond))

	managerDone := make(chan error, 1)
	go func() {
		managerDone <- manager.Run(ctx, cfg, manager.Options{
			// The simulated nodes renew no leases: node lifecycle would mark
			// all 5,000 Unknown after 40 s, in the middle of the idle window.
			Controllers: []string{"*", "-nodelifecycle", "-taint-eviction-controller"},
			Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}()
	defer func() {
		cancel()
		if err := <-managerDone; err != nil {
			b.Errorf("controller manager: %v", err)
		}
	}()

	const ns = "bench-controllers"
	if err := createNamespace(ctx, client, ns); err != nil {
		b.Fatal(err)
	}
	pods := newPodCounter(ctx, b, client, ns)
	d := benchDeployment(ns)
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	waitDeployment(ctx, b, client, ns, func(d *appsv1.Deployment) bool { return d.Status.ObservedGeneration == d.Generation })

	// Scale 0 → 3,000.
	b.StartTimer()
	start := time.Now()
	scalePatch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, ctrlReplicas)
	if _, err := client.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(scalePatch), metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	pods.waitFor(b, ctrlReplicas)
	created := time.Since(start)
	waitDeployment(ctx, b, client, ns, func(d *appsv1.Deployment) bool {
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == ctrlReplicas && d.Status.UpdatedReplicas == ctrlReplicas
	})
	available := time.Since(start)

	// Roll to a new image.
	start = time.Now()
	imagePatch := `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.28"}]}}}}`
	if _, err := client.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.StrategicMergePatchType, []byte(imagePatch), metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	waitDeployment(ctx, b, client, ns, rolledOut)
	rollout := time.Since(start)
	b.StopTimer()

	// Idle: top up to 10,000 objects, rest, then measure.
	fill := ctrlIdleObjects - ctrlNodes - ctrlReplicas
	clients, err := newClients(cfg, loadClients)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := createConfigMaps(ctx, clients, ns, fill); err != nil {
		b.Fatal(err)
	}
	time.Sleep(ctrlIdleSettle)
	selfBefore, err := selfCPU()
	if err != nil {
		b.Fatal(err)
	}
	serverBefore, err := procCPU(server.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	windowStart := time.Now()
	time.Sleep(ctrlIdleWindow)
	window := time.Since(windowStart)
	selfAfter, err := selfCPU()
	if err != nil {
		b.Fatal(err)
	}
	serverAfter, err := procCPU(server.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}

	b.ReportMetric(created.Seconds(), "created-s")
	b.ReportMetric(available.Seconds(), "available-s")
	b.ReportMetric(rollout.Seconds(), "rollout-s")
	b.ReportMetric(1000*float64(selfAfter-selfBefore)/float64(window), "idle-manager-millicores")
	b.ReportMetric(1000*float64(serverAfter-serverBefore)/float64(window), "idle-server-millicores")
}

// protobufConfig is cfg speaking protobuf, like kube components.
func protobufConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = mediaProtobuf
	c.AcceptContentTypes = mediaProtobuf + ",application/json"
	c.QPS, c.Burst = -1, -1
	return c
}

func benchDeployment(ns string) *appsv1.Deployment {
	zero := int32(0)
	quarter := intstr.FromString("25%")
	labels := map[string]string{"app": "bench"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &quarter, MaxUnavailable: &quarter}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}}},
			},
		},
	}
}

// rolledOut is `kubectl rollout status`'s "successfully rolled out".
func rolledOut(d *appsv1.Deployment) bool {
	st := d.Status
	return d.Generation <= st.ObservedGeneration && d.Spec.Replicas != nil &&
		st.UpdatedReplicas >= *d.Spec.Replicas && st.Replicas <= st.UpdatedReplicas && st.AvailableReplicas >= st.UpdatedReplicas
}

// waitDeployment polls the Deployment every 100ms until done.
func waitDeployment(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string, done func(*appsv1.Deployment) bool) {
	b.Helper()
	deadline := time.Now().Add(ctrlTimeout)
	for {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if done(d) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("deployment not done after %v: status %+v", ctrlTimeout, d.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// podCounter counts the pods of a namespace from a watch.
type podCounter struct {
	inf cache.SharedIndexInformer
}

func newPodCounter(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string) *podCounter {
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		b.Fatal("pod cache did not sync")
	}
	return &podCounter{inf: inf}
}

// waitFor waits until at least n pods exist.
func (p *podCounter) waitFor(b *testing.B, n int) {
	b.Helper()
	deadline := time.Now().Add(ctrlTimeout)
	for len(p.inf.GetStore().ListKeys()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pods after %v", len(p.inf.GetStore().ListKeys()), n, ctrlTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// selfCPU is the user+system CPU time of this process so far.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// procCPU is the user+system CPU time of process pid so far, from
// /proc/<pid>/stat (fields 14 and 15, in 1/100 s).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	end := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[end+1:]))
	if end < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
