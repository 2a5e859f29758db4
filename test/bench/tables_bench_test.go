package bench

// Benchmarks of what `kubectl get pods` costs the server on a namespace of
// 5,000 pods, recorded in docs/benchmarks.md under "kubectl fidelity":
//
//	go test -run '^$' -bench 'PodTable|ListPods' -benchmem ./test/bench/
//
// BenchmarkPodTable converts the pods to a Table in memory (the registry's
// ToTable, as the API server calls it); BenchmarkListPods lists them through a
// running in-process server as protobuf, JSON and a JSON Table.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// tablePods is how many pods the table and list benchmarks print.
const tablePods = 5000

// benchPod is a pod as a Deployment's replica looks once running: owner
// reference, labels, two containers with ports, env, resources, probes and a
// volume mount, and a status with IPs, conditions and container states (one
// restarted). It is about 4 KiB as JSON.
func benchPod(i int, now time.Time) *corev1.Pod {
	yes := true
	started := metav1.NewTime(now.Add(-time.Duration(i%600) * time.Minute))
	container := func(name, image string, port int32) corev1.Container {
		return corev1.Container{
			Name: name, Image: image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Env:   []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}, {Name: "MODE", Value: "production"}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			VolumeMounts:             []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}},
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		}
	}
	ip := fmt.Sprintf("10.244.%d.%d", i/250, i%250+2)
	p := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-7d4b9c8f6d-%05d", i), Namespace: "bench",
			Labels:            map[string]string{"app": "web", "pod-template-hash": "7d4b9c8f6d", "tier": "frontend"},
			Annotations:       map[string]string{"kubectl.kubernetes.io/restartedAt": "2025-03-01T10:00:00Z"},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d4b9c8f6d", UID: "3c1f1d9e-6b0a-4a57-9a7e-0d6f8f1d2a11", Controller: &yes, BlockOwnerDeletion: &yes}},
			CreationTimestamp: started,
		},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{container("web", "nginx:1.27", 8080), container("metrics", "prom/statsd-exporter:v0.27.1", 9102)},
			Volumes:       []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}},
			NodeName:      fmt.Sprintf("node-%02d", i%40),
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: corev1.DefaultSchedulerName,
			ServiceAccountName: "default",
		},
	}
	p.Status = benchPodStatus(i, ip, started)
	return p
}

// benchPodStatus is a running pod's status; every tenth pod has restarted.
func benchPodStatus(i int, ip string, started metav1.Time) corev1.PodStatus {
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: started}
	}
	running := func(name, image string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Image: image, ImageID: "docker.io/library/" + image + "@sha256:0123456789abcdef",
			ContainerID: fmt.Sprintf("containerd://%064x", i), Ready: true, Started: boolPtr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}
	}
	web := running("web", "nginx:1.27")
	if i%10 == 0 {
		web.RestartCount = 2
		web.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: started, FinishedAt: started}
	}
	return corev1.PodStatus{
		Phase:             corev1.PodRunning,
		Conditions:        []corev1.PodCondition{cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
		HostIP:            "192.168.1.10",
		HostIPs:           []corev1.HostIP{{IP: "192.168.1.10"}},
		PodIP:             ip,
		PodIPs:            []corev1.PodIP{{IP: ip}},
		StartTime:         &started,
		ContainerStatuses: []corev1.ContainerStatus{web, running("metrics", "prom/statsd-exporter:v0.27.1")},
		QOSClass:          corev1.PodQOSBurstable,
	}
}

func boolPtr(b bool) *bool { return &b }

// BenchmarkPodTable measures one `kubectl get pods` worth of table
// conversion: ToTable of 5,000 running pods with the row metadata kubectl
// receives by default.
func BenchmarkPodTable(b *testing.B) {
	now := time.Now()
	objs := make([]runtime.Object, tablePods)
	for i := range objs {
		objs[i] = benchPod(i, now)
	}
	pods := core.Pods()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t, err := pods.ToTable(objs, metav1.IncludeMetadata, now, false)
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Rows) != tablePods {
			b.Fatalf("%d rows, want %d", len(t.Rows), tablePods)
		}
	}
}

// BenchmarkListPods lists 5,000 pods (one namespace, served from the watch
// cache) from an in-process server as protobuf and as JSON with client-go,
// and as the JSON Table kubectl get asks for. It reports the response size
// on the wire (wire-B/op) besides the client's time and allocations.
func BenchmarkListPods(b *testing.B) {
	if testing.Short() {
		b.Skip("server benchmark: skipped under -short")
	}
	srv := testserver.Start(b, nil)
	ctx := context.Background()
	if err := seedPods(ctx, srv.Config, tablePods); err != nil {
		b.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		contentType string
	}{
		{"protobuf", runtime.ContentTypeProtobuf},
		{"json", runtime.ContentTypeJSON},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var wire atomic.Int64
			cfg := countingConfig(srv.Config, &wire)
			cfg.ContentType, cfg.AcceptContentTypes = tc.contentType, tc.contentType
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				b.Fatal(err)
			}
			listPods(ctx, b, client) // warm connections and the server's cache
			wire.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				listPods(ctx, b, client)
			}
			b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/op")
		})
	}

	b.Run("table-json", func(b *testing.B) {
		var wire atomic.Int64
		cfg := countingConfig(srv.Config, &wire)
		client, err := rest.HTTPClientFor(cfg)
		if err != nil {
			b.Fatal(err)
		}
		url := cfg.Host + "/api/v1/namespaces/bench/pods"
		getTable(ctx, b, client, url)
		wire.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			getTable(ctx, b, client, url)
		}
		b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/op")
	})
}

func listPods(ctx context.Context, b *testing.B, client kubernetes.Interface) {
	l, err := client.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(l.Items) != tablePods {
		b.Fatalf("listed %d pods, want %d", len(l.Items), tablePods)
	}
}

// getTable fetches the pods as kubectl get does and reads the whole body.
func getTable(ctx context.Context, b *testing.B, client *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// countingConfig copies cfg with a transport that adds the bytes of every
// response body to n.
func countingConfig(cfg *rest.Config, n *atomic.Int64) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body = &countingBody{ReadCloser: resp.Body, n: n}
			}
			return resp, err
		})
	}
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// seedPods creates namespace bench with n running pods (created, then given
// their status through the status subresource), 16 writers at a time.
func seedPods(ctx context.Context, cfg *rest.Config, n int) error {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return err
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	now := time.Now()
	next := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				want := benchPod(i, now)
				want.CreationTimestamp = metav1.Time{}
				created, err := client.CoreV1().Pods("bench").Create(ctx, want, metav1.CreateOptions{})
				if err == nil {
					created.Status = want.Status
					_, err = client.CoreV1().Pods("bench").UpdateStatus(ctx, created, metav1.UpdateOptions{})
				}
				if err != nil {
					errs <- fmt.Errorf("pod %d: %w", i, err)
					return
				}
			}
		}()
	}
	var first error
feed:
	for i := range n {
		select {
		case next <- i:
		case first = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if first == nil {
		first = <-errs
	}
	return first
}
