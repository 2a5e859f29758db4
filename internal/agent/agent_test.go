package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/agent"
	"github.com/skiffhq/skiff/internal/agent/network"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// runAgent runs an agent against srv until the returned stop is called
// (or the test ends) and fails the test if it exits with an error.
func runAgent(t *testing.T, o agent.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx, o) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent exited with %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("agent did not stop within a minute")
		}
	}
	t.Cleanup(func() {
		stop()
		crinode.RemoveLeftovers(t, filepath.Join(o.DataDir, "containerd"))
		crinode.UnmountUnder(t, o.DataDir)
	})
	return stop
}

// testBridge returns a bridge name and pod CIDR of this test's own, and
// deletes the bridge when the test ends.
func testBridge(t *testing.T) (string, string) {
	suffix := fmt.Sprintf("%05x", (os.Getpid()^int(time.Now().UnixNano()))&0xfffff)
	bridge := "skag" + suffix
	t.Cleanup(func() {
		_ = osexec.Command("ip", "link", "delete", bridge).Run()
		if err := network.RemoveMasquerade(bridge); err != nil {
			t.Errorf("remove the masquerade rule: %v", err)
		}
	})
	return bridge, fmt.Sprintf("10.252.%d.0/24", time.Now().UnixNano()%250)
}

func waitNode(t *testing.T, client kubernetes.Interface, name, what string, cond func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	crinode.WaitFor(t, 2*time.Minute, what, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = n
		return cond(n), nil
	})
	return node
}

func condition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// TestNodeRegistersAndTurnsReady runs an agent on a real containerd: the
// node registers with capacity, allocatable, labels and node info, is not
// Ready until it has a podCIDR, then writes the pod network and turns
// Ready; its lease is renewed; a restarted agent keeps the same Node.
func TestNodeRegistersAndTurnsReady(t *testing.T) {
	crinode.RequireRuntime(t)
	srv := testserver.Start(t, nil)
	bridge, podCIDR := testBridge(t)
	o := agent.Options{
		DataDir: t.TempDir(), NodeName: "agent-node-1", NodeIP: "127.0.0.1", Config: srv.Config,
		ControlPlane: true, CNIBridge: bridge, Labels: map[string]string{"tier": "test"},
		SystemReserved: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
	}
	stop := runAgent(t, o)
	client := srv.Client

	node := waitNode(t, client, o.NodeName, "the node to register with status", func(n *corev1.Node) bool {
		return condition(n, corev1.NodeReady) != nil
	})
	for k, want := range map[string]string{
		"kubernetes.io/hostname": "agent-node-1", "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH,
		"node-role.kubernetes.io/control-plane": "", "tier": "test",
	} {
		if got, ok := node.Labels[k]; !ok || got != want {
			t.Errorf("label %s = %q (present %v), want %q", k, got, ok, want)
		}
	}
	capCPU, allocCPU := node.Status.Capacity[corev1.ResourceCPU], node.Status.Allocatable[corev1.ResourceCPU]
	if capCPU.Value() != int64(runtime.NumCPU()) || capCPU.MilliValue()-allocCPU.MilliValue() != 100 {
		t.Errorf("cpu capacity %s allocatable %s, want %d and 100m less", capCPU.String(), allocCPU.String(), runtime.NumCPU())
	}
	capMem, allocMem := node.Status.Capacity[corev1.ResourceMemory], node.Status.Allocatable[corev1.ResourceMemory]
	if capMem.Value()-allocMem.Value() != 100<<20 {
		t.Errorf("memory capacity %s allocatable %s, want the 100Mi eviction threshold between them", capMem.String(), allocMem.String())
	}
	if pods := node.Status.Capacity[corev1.ResourcePods]; pods.Value() != 110 {
		t.Errorf("pods capacity %s, want 110", pods.String())
	}
	info := node.Status.NodeInfo
	if !strings.HasPrefix(info.ContainerRuntimeVersion, "containerd://") || !strings.HasPrefix(info.KubeletVersion, "v1.32") ||
		info.OperatingSystem != "linux" || info.KernelVersion == "" || info.OSImage == "" {
		t.Errorf("nodeInfo = %+v", info)
	}
	if len(node.Status.Addresses) == 0 || node.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) {
		t.Errorf("addresses = %v, want InternalIP 127.0.0.1 first", node.Status.Addresses)
	}
	if c := condition(node, corev1.NodeReady); c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, "network not ready") {
		t.Errorf("Ready before a podCIDR = %s %q, want False naming the network", c.Status, c.Message)
	}
	for _, ct := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		if c := condition(node, ct); c == nil || c.Reason == "" {
			t.Errorf("condition %s missing or without reason", ct)
		}
	}

	// The node lease is renewed.
	ctx := context.Background()
	var first metav1.MicroTime
	crinode.WaitFor(t, time.Minute, "the node lease to be renewed", func(ctx context.Context) (bool, error) {
		l, err := client.CoordinationV1().Leases("kube-node-lease").Get(ctx, o.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if *l.Spec.HolderIdentity != o.NodeName || len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != node.UID {
			t.Fatalf("lease = %+v, want held by the node and owned by it", l)
		}
		if first.IsZero() {
			first = *l.Spec.RenewTime
			return false, nil
		}
		return l.Spec.RenewTime.After(first.Time), nil
	})

	// A podCIDR (the nodeipam controller's job) configures the network.
	patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, podCIDR, podCIDR)
	if _, err := client.CoreV1().Nodes().Patch(ctx, o.NodeName, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNode(t, client, o.NodeName, "the node to turn Ready", func(n *corev1.Node) bool {
		return condition(n, corev1.NodeReady).Status == corev1.ConditionTrue
	})
	conf, err := os.ReadFile(filepath.Join(o.DataDir, "containerd", "cni", "net.d", "10-skiff.conflist"))
	if err != nil || !strings.Contains(string(conf), podCIDR) || !strings.Contains(string(conf), bridge) {
		t.Errorf("CNI config = %s, %v; want bridge %s on %s", conf, err, bridge, podCIDR)
	}

	// A restarted agent keeps the Node.
	stop()
	runAgent(t, o)
	again := waitNode(t, client, o.NodeName, "the node to be Ready after a restart", func(n *corev1.Node) bool {
		c := condition(n, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	if again.UID != node.UID {
		t.Errorf("node UID changed across an agent restart: %s → %s", node.UID, again.UID)
	}
}

// readyNode starts an API server and an agent whose node has a podCIDR and
// is Ready.
func readyNode(t *testing.T, name string) (*testserver.Server, agent.Options, string) {
	t.Helper()
	crinode.RequireRuntime(t)
	srv := testserver.Start(t, nil)
	bridge, podCIDR := testBridge(t)
	o := agent.Options{DataDir: t.TempDir(), NodeName: name, NodeIP: "127.0.0.1", Config: srv.Config, CNIBridge: bridge}
	runAgent(t, o)
	waitNode(t, srv.Client, name, "the node to register", func(n *corev1.Node) bool { return true })
	patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, podCIDR, podCIDR)
	if _, err := srv.Client.CoreV1().Nodes().Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNode(t, srv.Client, name, "the node to turn Ready", func(n *corev1.Node) bool {
		c := condition(n, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	return srv, o, podCIDR
}

// TestPodRunsThroughTheAgent runs a pod on the pod network through the
// whole agent: it turns Ready with an address from the node's podCIDR, its
// logs come back through the API server, and deleting it removes it.
func TestPodRunsThroughTheAgent(t *testing.T) {
	srv, o, podCIDR := readyNode(t, "agent-node-2")
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: o.NodeName,
			Containers: []corev1.Container{{
				Name: "web", Image: "skiff.local/busybox:stable",
				Command:        []string{"sh", "-c", "echo started on $(hostname); exec sleep 3600"},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1},
			}},
		},
	}
	if _, err := srv.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	t.Cleanup(func() {
		if t.Failed() && got != nil {
			t.Logf("pod status: %+v", got.Status)
		}
	})
	crinode.WaitFor(t, 2*time.Minute, "the pod to be Ready", func(ctx context.Context) (bool, error) {
		p, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = p
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if got.Status.Phase != corev1.PodRunning || got.Status.HostIP != "127.0.0.1" || got.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status phase=%s hostIP=%s qos=%s", got.Status.Phase, got.Status.HostIP, got.Status.QOSClass)
	}
	_, cidr, _ := net.ParseCIDR(podCIDR)
	if ip := net.ParseIP(got.Status.PodIP); ip == nil || !cidr.Contains(ip) {
		t.Errorf("podIP %q not in the node's podCIDR %s", got.Status.PodIP, podCIDR)
	}
	crinode.WaitFor(t, time.Minute, "the pod's log through the API server", func(ctx context.Context) (bool, error) {
		b, err := srv.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).DoRaw(ctx)
		return strings.Contains(string(b), "started on web"), err
	})

	if err := srv.Client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(1))}); err != nil {
		t.Fatal(err)
	}
	crinode.WaitFor(t, 2*time.Minute, "the pod to be gone", func(ctx context.Context) (bool, error) {
		_, err := srv.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
