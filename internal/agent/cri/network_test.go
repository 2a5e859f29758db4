package cri_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
)

// TestSandboxGetsCNINetwork writes a bridge + host-local network into the
// runtime's CNI conf dir and checks that a pod with its own network namespace
// gets an address from it through Debian's plugins.
func TestSandboxGetsCNINetwork(t *testing.T) {
	n := startNode(t)
	n.importImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// A bridge and subnet of this test's own, so parallel runs and the
	// node's real pod network do not meet.
	suffix := fmt.Sprintf("%05x", (os.Getpid()^int(time.Now().UnixNano()))&0xfffff)
	bridge := "skcri" + suffix
	_, subnet, _ := net.ParseCIDR(fmt.Sprintf("10.251.%d.0/24", time.Now().UnixNano()%250))
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "delete", bridge).CombinedOutput(); err != nil {
			t.Logf("delete bridge %s: %v %s", bridge, err, out)
		}
	})
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "skiff-cri-test",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "subnet": %q, "dataDir": %q}},
    {"type": "loopback"}
  ]
}`, bridge, subnet.String(), filepath.Join(n.dir, "ipam"))
	if err := os.WriteFile(filepath.Join(n.ctd.CNIConfDir(), "10-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.waitNetworkReady(t)

	sandbox := n.sandboxConfig("networked")
	sandbox.Hostname = "networked"
	sandbox.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_POD
	podID, err := n.client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	st, err := n.client.PodSandboxStatus(ctx, podID)
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	podIP := net.ParseIP(st.GetNetwork().GetIp())
	if !subnet.Contains(podIP) {
		t.Fatalf("pod IP %q is not in %s", st.GetNetwork().GetIp(), subnet)
	}

	config := containerConfig("addr", images.BusyboxImageRef, "sleep", "3600")
	config.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_POD
	id := n.runContainer(t, podID, sandbox, config)
	n.waitContainer(t, id, runtimeapi.ContainerState_CONTAINER_RUNNING)
	res, err := n.client.ExecSync(ctx, id, []string{"sh", "-c", "ip -4 addr show eth0; hostname"}, 30*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("ExecSync: %v, %+v", err, res)
	}
	if out := string(res.Stdout); !strings.Contains(out, podIP.String()+"/24") || !strings.Contains(out, "networked") {
		t.Errorf("inside the pod: %q, want eth0 with %s and hostname networked", out, podIP)
	}
	// The pod answers on its address from the host, through the bridge.
	server := containerConfig("server", images.BusyboxImageRef, "sh", "-c", "while :; do echo hello | nc -l -p 8080; done")
	server.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_POD
	n.runContainer(t, podID, sandbox, server)
	addr := net.JoinHostPort(podIP.String(), "8080")
	waitFor(t, time.Minute, "the pod to answer on "+addr, func(ctx context.Context) (bool, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(conn)
		return string(b) == "hello\n", err
	})
}
