package pods_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/pods"
	"github.com/skiffhq/skiff/internal/agent/volume"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

const nodeName = "pods-test-node"

// env is a real API server, a real containerd with a CNI bridge network and
// a pods.Manager running against both.
type env struct {
	t      *testing.T
	node   *crinode.Node
	client kubernetes.Interface
	dir    string
	subnet *net.IPNet

	cancel context.CancelFunc
	done   chan error
	mgr    *pods.Manager
}

func newEnv(t *testing.T, network bool) *env {
	t.Helper()
	n := crinode.Start(t)
	n.ImportImages(t)
	srv := testserver.Start(t, nil)
	e := &env{t: t, node: n, client: srv.Client, dir: t.TempDir()}
	if network {
		e.setUpNetwork()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}
	if _, err := e.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	e.startManager()
	t.Cleanup(e.stopManager)
	return e
}

// setUpNetwork writes a bridge + host-local CNI config of this test's own.
func (e *env) setUpNetwork() {
	t := e.t
	suffix := fmt.Sprintf("%05x", (os.Getpid()^int(time.Now().UnixNano()))&0xfffff)
	bridge := "skpod" + suffix
	_, e.subnet, _ = net.ParseCIDR(fmt.Sprintf("10.252.%d.0/24", time.Now().UnixNano()%250))
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "delete", bridge).CombinedOutput(); err != nil {
			t.Logf("delete bridge %s: %v %s", bridge, err, out)
		}
	})
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "skiff-pods-test",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "subnet": %q, "dataDir": %q}},
    {"type": "loopback"}
  ]
}`, bridge, e.subnet.String(), filepath.Join(e.dir, "ipam"))
	if err := os.WriteFile(filepath.Join(e.node.Containerd.CNIConfDir(), "10-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	crinode.WaitFor(t, time.Minute, "the runtime to load the CNI config", func(ctx context.Context) (bool, error) {
		st, err := e.node.Client.Status(ctx)
		for _, c := range st.GetConditions() {
			if c.GetType() == runtimeapi.NetworkReady {
				return c.GetStatus(), err
			}
		}
		return false, err
	})
}

// startManager runs a new pods.Manager (an agent start).
func (e *env) startManager() {
	t := e.t
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: e.client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "skiff-agent", Host: nodeName})
	vols := volume.NewManager(volume.Options{Root: filepath.Join(e.dir, "pods"), Client: e.client, NodeName: nodeName})
	mgr, err := pods.NewManager(pods.Options{
		NodeName:      nodeName,
		NodeIP:        "127.0.0.1",
		Client:        e.client,
		Runtime:       e.node.Client,
		Volumes:       vols,
		Recorder:      recorder,
		PodLogDir:     filepath.Join(e.dir, "logs"),
		StaticPodDir:  filepath.Join(e.dir, "manifests"),
		ClusterDNS:    []string{"10.96.0.10"},
		ClusterDomain: "cluster.local",
		NodeAllocatable: func() corev1.ResourceList {
			return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
		},
	})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done, e.mgr = cancel, make(chan error, 1), mgr
	go func() {
		e.done <- mgr.Run(ctx)
		broadcaster.Shutdown()
	}()
}

// stopManager stops the manager (an agent stop); containers keep running.
func (e *env) stopManager() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(2 * time.Minute):
		e.t.Error("Run did not return within two minutes of its context ending")
	}
	e.cancel = nil
}

// namespace creates a namespace for one subtest.
func (e *env) namespace(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

// createPod creates pod bound to the test node.
func (e *env) createPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	pod.Spec.NodeName = nodeName
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return out
}

// waitPod polls pod until cond holds and returns it.
func (e *env) waitPod(t *testing.T, ns, name, what string, cond func(p *corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		p, err := e.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waited for pod %s/%s: %s; last status: %s", ns, name, what, statusString(last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func statusString(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	s := fmt.Sprintf("phase=%s reason=%s conditions=%v", p.Status.Phase, p.Status.Reason, p.Status.Conditions)
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		s += fmt.Sprintf("\n  %s: state=%+v last=%+v restarts=%d ready=%v", cs.Name, cs.State, cs.LastTerminationState, cs.RestartCount, cs.Ready)
	}
	return s
}

// busyboxPod is a pod with one busybox container running script.
func busyboxPod(ns, name string, restart corev1.RestartPolicy, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 restart,
			TerminationGracePeriodSeconds: ptr(int64(5)),
			Containers:                    []corev1.Container{busybox("main", script)},
		},
	}
}

func busybox(name, script string) corev1.Container {
	return corev1.Container{
		Name: name, Image: images.BusyboxImageRef, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"sh", "-c", script},
	}
}

func ptr[T any](v T) *T { return &v }

// containerStatus finds a container's status by name.
func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	all := append(append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
	for i := range all {
		if all[i].Name == name {
			return &all[i]
		}
	}
	return nil
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// exec runs cmd in a pod's container through CRI.
func (e *env) exec(t *testing.T, p *corev1.Pod, container string, cmd ...string) string {
	t.Helper()
	cs := containerStatus(p, container)
	if cs == nil || cs.ContainerID == "" {
		t.Fatalf("container %s has no ID", container)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := cs.ContainerID[len("containerd://"):]
	res, err := e.node.Client.ExecSync(ctx, id, cmd, 30*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exec %v in %s: %v %+v", cmd, container, err, res)
	}
	return string(res.Stdout)
}

// isRunning reports whether container name of p is running.
func isRunning(p *corev1.Pod, name string) bool {
	cs := containerStatus(p, name)
	return cs != nil && cs.State.Running != nil
}

// statusUpdates is how many pod status updates the API server has served
// (any outcome), from its metrics.
func (e *env) statusUpdates(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := e.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatalf("read API server metrics: %v", err)
	}
	total := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="pods",subresource="status",verb="UPDATE"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		total += int(v)
	}
	return total
}
