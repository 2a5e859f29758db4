package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/agent/network"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// podWait bounds how long a pod may take to reach a state in these tests:
// only a cap on a broken agent, never what is asserted.
const podWait = 3 * time.Minute

// startNodeCluster starts a skiff server with its in-process agent on a
// pod network of the test's own, and waits for the node to be Ready. When
// the test ends, every pod sandbox the node's containerd still has is
// removed, so no container outlives the test.
func startNodeCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	crinode.RequireRuntime(t)
	cidr := fmt.Sprintf("10.%d.0.0/16", 200+time.Now().UnixNano()%40)
	bridge := fmt.Sprintf("ske2e%05x", time.Now().UnixNano()&0xfffff)
	t.Cleanup(func() { removeBridge(t, bridge) })
	c := startServer(t, append([]string{"--cluster-cidr", cidr, "--cni-bridge", bridge}, extra...)...)
	t.Cleanup(func() {
		// The server must be gone first: its containerd holds the
		// directory, and cleanups run in reverse order.
		c.stop(t)
		removeNodePods(t, c.dataDir)
	})
	c.waitFor(t, "the node to be Ready", func() (bool, string) {
		out, _, err := c.kubectl(t, "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{end}`)
		return err == nil && out == "True", "Ready=" + out
	})
	// As on any fresh cluster, pods are refused until the service account
	// controller has made the namespace's default service account.
	c.waitFor(t, "the default service account", func() (bool, string) {
		_, stderr, err := c.kubectl(t, "get", "serviceaccount", "default")
		return err == nil, stderr
	})
	return c
}

// removeNodePods removes the pods the node's containerd still runs.
func removeNodePods(t *testing.T, dataDir string) {
	crinode.RemoveLeftovers(t, filepath.Join(dataDir, "containerd"))
	crinode.UnmountUnder(t, dataDir)
}

// waitFor polls cond for up to podWait.
func (c *cluster) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(podWait)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %s", podWait, what, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// jsonpath reads one field of an object with kubectl.
func (c *cluster) jsonpath(t *testing.T, obj, path string) string {
	t.Helper()
	out, _, _ := c.kubectl(t, "get", obj, "-o", "jsonpath="+path)
	return out
}

// TestPodsOnTheNode drives the node agent with kubectl: a crash loop, a
// liveness restart, readiness flipping Ready, a preStop hook seen before
// SIGTERM, an OOM kill, a secret update reaching a mounted file, and the
// logs/exec/cp/port-forward round trips.
func TestPodsOnTheNode(t *testing.T) {
	c := startNodeCluster(t)
	hostDir := t.TempDir()
	c.mustKubectl(t, "create", "secret", "generic", "creds", "--from-literal=password=one")
	c.mustKubectl(t, "apply", "-f", writeManifest(t, "pods.yaml", fmt.Sprintf(podsManifest, hostDir)))

	t.Run("crash loop", func(t *testing.T) {
		c.waitFor(t, "CrashLoopBackOff", func() (bool, string) {
			reason := c.jsonpath(t, "pod/crasher", "{.status.containerStatuses[0].state.waiting.reason}")
			restarts := c.jsonpath(t, "pod/crasher", "{.status.containerStatuses[0].restartCount}")
			n, _ := strconv.Atoi(restarts)
			return reason == "CrashLoopBackOff" && n >= 2, reason + " restarts=" + restarts
		})
		if code := c.jsonpath(t, "pod/crasher", "{.status.containerStatuses[0].lastState.terminated.exitCode}"); code != "7" {
			t.Errorf("last exit code %q, want 7", code)
		}
		// The STATUS column shows the back-off between restarts.
		c.waitFor(t, "kubectl get to show CrashLoopBackOff", func() (bool, string) {
			out := c.mustKubectl(t, "get", "pod", "crasher")
			return strings.Contains(out, "CrashLoopBackOff"), out
		})
	})
	t.Run("liveness restarts", func(t *testing.T) {
		c.waitFor(t, "a liveness restart", func() (bool, string) {
			restarts := c.jsonpath(t, "pod/unhealthy", "{.status.containerStatuses[0].restartCount}")
			return restarts != "" && restarts != "0", "restarts=" + restarts
		})
		c.waitFor(t, "the Unhealthy event", func() (bool, string) {
			out, _, _ := c.kubectl(t, "get", "events", "--field-selector", "involvedObject.name=unhealthy", "-o", "jsonpath={.items[*].reason}")
			return strings.Contains(out, "Unhealthy") && strings.Contains(out, "Killing"), out
		})
	})
	t.Run("readiness flips Ready", func(t *testing.T) {
		ready := func() string { return c.jsonpath(t, "pod/gated", `{.status.conditions[?(@.type=="Ready")].status}`) }
		c.waitFor(t, "gated running and not ready", func() (bool, string) {
			phase := c.jsonpath(t, "pod/gated", "{.status.phase}")
			return phase == "Running" && ready() == "False", phase + " ready=" + ready()
		})
		c.mustKubectl(t, "exec", "gated", "--", "touch", "/tmp/ready")
		c.waitFor(t, "Ready=True", func() (bool, string) { return ready() == "True", ready() })
		c.mustKubectl(t, "exec", "gated", "--", "rm", "/tmp/ready")
		c.waitFor(t, "Ready=False again", func() (bool, string) { return ready() == "False", ready() })
	})
	t.Run("OOMKilled", func(t *testing.T) {
		c.waitFor(t, "an OOM kill", func() (bool, string) {
			r := c.jsonpath(t, "pod/hog", "{.status.containerStatuses[0].state.terminated.reason}")
			return r == "OOMKilled", r
		})
	})
	t.Run("secret update reaches the file", func(t *testing.T) {
		c.waitFor(t, "the secret file", func() (bool, string) {
			out, _, _ := c.kubectl(t, "exec", "gated", "--", "cat", "/etc/creds/password")
			return out == "one", out
		})
		c.mustKubectl(t, "patch", "secret", "creds", "-p", `{"stringData":{"password":"two"}}`)
		c.waitFor(t, "the updated secret file", func() (bool, string) {
			out, _, _ := c.kubectl(t, "exec", "gated", "--", "cat", "/etc/creds/password")
			return out == "two", out
		})
	})
	t.Run("logs exec cp port-forward", func(t *testing.T) {
		if out := c.mustKubectl(t, "logs", "gated"); !strings.Contains(out, "gated up") {
			t.Errorf("logs = %q", out)
		}
		_, _, err := c.kubectl(t, "exec", "gated", "--", "sh", "-c", "exit 5")
		if exitCode(err) != 5 {
			t.Errorf("exec exit code %d, want 5", exitCode(err))
		}
		src := filepath.Join(t.TempDir(), "in.txt")
		if err := os.WriteFile(src, []byte("copied in"), 0o644); err != nil {
			t.Fatal(err)
		}
		c.mustKubectl(t, "cp", src, "gated:/tmp/in.txt")
		dst := filepath.Join(t.TempDir(), "out.txt")
		c.mustKubectl(t, "cp", "gated:/tmp/in.txt", dst)
		if b, _ := os.ReadFile(dst); string(b) != "copied in" {
			t.Errorf("cp round trip = %q", b)
		}
		w := c.kubectlBackground(t, "port-forward", "pod/gated", "0:8080")
		w.waitForLine(t, portForwardLine)
		port := portForwardLine.FindStringSubmatch(w.out.String())[1]
		c.waitFor(t, "an answer through port-forward", func() (bool, string) {
			body, err := httpGet("http://127.0.0.1:" + port + "/")
			return err == nil && strings.Contains(body, "served by gated"), fmt.Sprint(body, err)
		})
	})
	t.Run("bench pod-startup", func(t *testing.T) {
		out, err := exec.Command(skiffBin, "bench", "pod-startup", "--kubeconfig", c.kubeconfig,
			"--pods", "4", "--batch", "2", "--namespace", "e2e-bench").CombinedOutput()
		if err != nil {
			t.Fatalf("skiff bench pod-startup: %v\n%s", err, out)
		}
		for _, want := range []string{"pods:    4 (batches of 2)", "p99:", "bound:   p50"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("bench output lacks %q:\n%s", want, out)
			}
		}
		// It deletes its pods when done.
		if left := c.mustKubectl(t, "get", "pods", "-n", "e2e-bench", "-o", "name"); left != "" {
			t.Errorf("bench pods left behind: %s", left)
		}
	})
	t.Run("preStop before SIGTERM", func(t *testing.T) {
		c.mustKubectl(t, "delete", "pod", "graceful", "--wait=true")
		b, err := os.ReadFile(filepath.Join(hostDir, "graceful.log"))
		if err != nil || string(b) != "started\nprestop\nsigterm\n" {
			t.Errorf("graceful.log = %q, %v; want started, prestop, sigterm in order", b, err)
		}
	})
}

// podsManifest: %s is a host directory the graceful pod writes to.
const podsManifest = `
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - {name: main, image: skiff.local/busybox:stable, command: [sh, -c, "echo crashing; exit 7"]}
---
apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  containers:
  - name: main
    image: skiff.local/busybox:stable
    command: [sh, -c, "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600"]
    livenessProbe:
      exec: {command: [test, -f, /tmp/alive]}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: gated}
spec:
  containers:
  - name: main
    image: skiff.local/busybox:stable
    command: [sh, -c, "echo gated up; mkdir /www; echo served by gated > /www/index.html; exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
    volumeMounts:
    - {name: creds, mountPath: /etc/creds}
  volumes:
  - name: creds
    secret: {secretName: creds}
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: skiff.local/busybox:stable
    command: [sh, -c, "head -c 200m /dev/zero | tail"]
    resources:
      limits: {memory: 32Mi}
---
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: main
    image: skiff.local/busybox:stable
    command: [sh, -c, "trap 'echo sigterm >> /host/graceful.log; exit 0' TERM; echo started >> /host/graceful.log; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo prestop >> /host/graceful.log"]}
    volumeMounts:
    - {name: host, mountPath: /host}
  volumes:
  - name: host
    hostPath: {path: %s, type: Directory}
`

// portForwardLine is kubectl port-forward's "Forwarding from" line.
var portForwardLine = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) ->`)

// httpGet fetches url with a short timeout.
func httpGet(url string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// removeBridge deletes a test's pod bridge and its masquerade rule.
func removeBridge(t *testing.T, bridge string) {
	_ = exec.Command("ip", "link", "delete", bridge).Run()
	if err := network.RemoveMasquerade(bridge); err != nil {
		t.Errorf("remove the masquerade rule: %v", err)
	}
}
