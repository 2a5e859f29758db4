package scheduling

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// benchLabel marks every object the benchmark creates.
const (
	benchLabelKey   = "skiff.dev/bench"
	benchLabelValue = "scheduler"
	benchSelector   = benchLabelKey + "=" + benchLabelValue
)

// nodeName is the name of benchmark node i.
func nodeName(i int) string { return fmt.Sprintf("bench-node-%05d", i) }

// podName is the name of benchmark pod i.
func podName(i int) string { return fmt.Sprintf("bench-pod-%05d", i) }

// benchNode is node i: 8, 16 or 32 cores, 32/64/128 GiB, 110 pods, in one
// of 10 zones.
func benchNode(i int) *corev1.Node {
	name := nodeName(i)
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse([]string{"8", "16", "32"}[i%3]),
		corev1.ResourceMemory: resource.MustParse([]string{"32Gi", "64Gi", "128Gi"}[i%3]),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			benchLabelKey:            benchLabelValue,
			corev1.LabelHostname:     name,
			corev1.LabelTopologyZone: fmt.Sprintf("bench-zone-%d", i%10)}},
		Status: corev1.NodeStatus{Capacity: rl, Allocatable: rl,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

// benchPod is pod i: requests from 100m/128Mi to 1/1Gi; pods 7, 27, …
// (5%) have hostname anti-affinity within groups of 10, pods 17, 37, …
// (5%) a zone spread constraint within groups of 20. A node selector keeps
// them on the benchmark's nodes.
func benchPod(i int) *corev1.Pod {
	req := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse([]string{"100m", "250m", "500m", "1"}[i%4]),
		corev1.ResourceMemory: resource.MustParse([]string{"128Mi", "256Mi", "512Mi", "1Gi"}[(i/4)%4]),
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName(i), Labels: map[string]string{
			benchLabelKey: benchLabelValue, "app": fmt.Sprint("bench-web-", i/50)}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{benchLabelKey: benchLabelValue},
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: req}}}},
	}
	selector := func(app string) *metav1.LabelSelector {
		p.Labels["app"] = app
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	switch i % 20 {
	case 7:
		sel := selector(fmt.Sprint("bench-anti-", i/200))
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: sel, TopologyKey: corev1.LabelHostname}}}}
	case 17:
		sel := selector(fmt.Sprint("bench-spread-", i/400))
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel}}
	}
	return p
}

// clientsets returns n protobuf clientsets, one connection each, without
// client-side rate limits.
func clientsets(base *rest.Config, n int) ([]kubernetes.Interface, error) {
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

// createPod creates pod in ns. The created pod the server returns is
// read but not decoded: the benchmark has no use for it, and decoding
// 30,000 of them would take CPU from the cluster it measures.
func createPod(ctx context.Context, c kubernetes.Interface, ns string, pod *corev1.Pod) error {
	return c.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Body(pod).Do(ctx).Error()
}

// podMetadata is a metadata-only client for the pods in ns, over one
// connection of its own.
func podMetadata(base *rest.Config, ns string) (metadata.ResourceInterface, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = 1e6, 1e6
	c, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	return c.Resource(corev1.SchemeGroupVersion.WithResource("pods")).Namespace(ns), nil
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
