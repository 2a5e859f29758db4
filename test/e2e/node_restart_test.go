package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// steadyPod is a long-running pod the restart tests watch.
const steadyPod = `
apiVersion: v1
kind: Pod
metadata: {name: steady}
spec:
  containers:
  - {name: main, image: skiff.local/busybox:stable, command: [sh, -c, "echo steady up; exec sleep 3600"]}
`

// runningContainer waits for pod steady to be Ready and returns its
// container ID and restart count.
func (c *cluster) runningContainer(t *testing.T) (id, restarts string) {
	t.Helper()
	c.waitFor(t, "pod steady to be Ready", func() (bool, string) {
		r := c.jsonpath(t, "pod/steady", `{.status.conditions[?(@.type=="Ready")].status}`)
		return r == "True", "Ready=" + r
	})
	return c.jsonpath(t, "pod/steady", "{.status.containerStatuses[0].containerID}"),
		c.jsonpath(t, "pod/steady", "{.status.containerStatuses[0].restartCount}")
}

// TestNodeSurvivesRestarts kills the server (and with it the in-process
// agent) and then the managed containerd while a pod runs: the pod keeps
// its container through both, and the status stays right.
func TestNodeSurvivesRestarts(t *testing.T) {
	c := startNodeCluster(t)
	c.mustKubectl(t, "apply", "-f", writeManifest(t, "steady.yaml", steadyPod))
	id, restarts := c.runningContainer(t)

	// SIGKILL: no chance to stop anything. The containers are the
	// shims' children, not the server's.
	if err := c.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.proc.exited
	c.proc = nil
	c.start(t)
	c.waitFor(t, "the node to be Ready again", func() (bool, string) {
		out := c.jsonpath(t, "nodes", `{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{end}`)
		return out == "True", out
	})
	if id2, r2 := c.runningContainer(t); id2 != id || r2 != restarts {
		t.Errorf("after a server restart: container %s restarts %s, want %s and %s", id2, r2, id, restarts)
	}
	if out := c.mustKubectl(t, "logs", "steady"); !strings.Contains(out, "steady up") {
		t.Errorf("logs after the restart = %q", out)
	}

	// Kill containerd: the agent restarts it and carries on.
	pid := crinode.ContainerdPid(t, filepath.Join(c.dataDir, "containerd", "config.toml"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "a new containerd", func() (bool, string) {
		p := crinode.ContainerdPid(t, filepath.Join(c.dataDir, "containerd", "config.toml"))
		return p != 0 && p != pid, fmt.Sprint("pid ", p)
	})
	c.waitFor(t, "exec to work through the new containerd", func() (bool, string) {
		out, stderr, err := c.kubectl(t, "exec", "steady", "--", "echo", "alive")
		return err == nil && out == "alive\n", out + stderr
	})
	if id3, r3 := c.runningContainer(t); id3 != id || r3 != restarts {
		t.Errorf("after a containerd restart: container %s restarts %s, want %s and %s", id3, r3, id, restarts)
	}
}

// TestAgentJoinsAndRestarts runs `skiff agent` as its own process, joined
// with the server's token: its node turns Ready, runs a pod, and a killed
// and restarted agent finds the pod still running.
func TestAgentJoinsAndRestarts(t *testing.T) {
	c := startServer(t, "--disable-agent", "--cluster-cidr", fmt.Sprintf("10.%d.0.0/16", 200+time.Now().UnixNano()%40))
	server := c.jsonpathConfig(t, "{.clusters[0].cluster.server}")
	agentDir := t.TempDir()
	bridge := fmt.Sprintf("ske2e%05x", time.Now().UnixNano()&0xfffff)
	t.Cleanup(func() { removeBridge(t, bridge) })
	t.Cleanup(func() { removeNodePods(t, agentDir) })
	args := []string{"agent", "--server", server, "--token-file", filepath.Join(c.dataDir, "server", "token"),
		"--data-dir", agentDir, "--node-name", "worker-1", "--cni-bridge", bridge, "--port", "0"}
	agent := startProcess(t, args...)
	c.waitFor(t, "worker-1 to be Ready", func() (bool, string) {
		r := c.jsonpath(t, "node/worker-1", `{.status.conditions[?(@.type=="Ready")].status}`)
		return r == "True", "Ready=" + r
	})
	if _, err := os.Stat(filepath.Join(agentDir, "agent", "pki", "client.crt")); err != nil {
		t.Errorf("the agent kept no client certificate: %v", err)
	}
	c.mustKubectl(t, "apply", "-f", writeManifest(t, "steady.yaml", steadyPod))
	id, restarts := c.runningContainer(t)
	if node := c.jsonpath(t, "pod/steady", "{.spec.nodeName}"); node != "worker-1" {
		t.Errorf("pod scheduled to %q", node)
	}

	agent.kill(t)
	startProcess(t, args...)
	c.waitFor(t, "the restarted agent to report the pod", func() (bool, string) {
		out, _, err := c.kubectl(t, "logs", "steady")
		return err == nil && strings.Contains(out, "steady up"), out
	})
	if id2, r2 := c.runningContainer(t); id2 != id || r2 != restarts {
		t.Errorf("after an agent restart: container %s restarts %s, want %s and %s", id2, r2, id, restarts)
	}
}

// jsonpathConfig reads the kubeconfig with kubectl config view.
func (c *cluster) jsonpathConfig(t *testing.T, path string) string {
	t.Helper()
	return c.mustKubectl(t, "config", "view", "--raw", "-o", "jsonpath="+path)
}

// process is a skiff process a test runs besides the server.
type process struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
}

// startProcess runs skiff with args until the test ends (SIGTERM then).
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(skiffBin, args...), logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start skiff %s: %v", args[0], err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		stopServer(t, p.cmd, p.exited)
		if t.Failed() {
			t.Logf("skiff %s log:\n%s", args[0], p.logs.String())
		}
	})
	return p
}

// kill SIGKILLs the process and waits for it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}
