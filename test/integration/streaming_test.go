package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/server"
	"github.com/skiffhq/skiff/internal/agent/server/agenttest"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// streamingCluster is a real API server, a containerd node with pod
// default/web started through CRI, and the agent API serving it, registered
// as node node1.
type streamingCluster struct {
	ts        *testserver.Server
	node      *crinode.Node
	pod       *agenttest.Pod
	kubectl   string
	httpdPort int
	counterID string
}

func startStreamingCluster(t *testing.T) *streamingCluster {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	n := crinode.Start(t)
	n.ImportImages(t)
	c := &streamingCluster{ts: testserver.Start(t, nil), node: n, kubectl: kubectl, httpdPort: agenttest.FreePort(t)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cm, err := c.ts.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	if err != nil || cm.Data["client-ca-file"] == "" {
		t.Fatalf("client CA ConfigMap: %v %v", cm, err)
	}
	srv := server.New(server.Options{NodeName: "node1", Runtime: n.Client, Pods: func() []*corev1.Pod {
		p, err := c.ts.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return []*corev1.Pod{p}
	}})
	agent := agenttest.Serve(t, n.Dir, srv.Handler(), []byte(cm.Data["client-ca-file"]))

	c.pod = agenttest.StartPod(t, n.Client, n.Dir, "default", "web")
	first := c.pod.RunContainer(t, "app", 0, "sh", "-c", "echo first run; exit 1")
	agenttest.WaitContainer(t, n.Client, first, runtimeapi.ContainerState_CONTAINER_EXITED)
	c.pod.RunContainer(t, "app", 1, "sh", "-c", "for i in 1 2 3; do echo line $i; done; exec sleep 3600")
	c.counterID = c.pod.RunContainer(t, "counter", 0, "sh", "-c",
		"echo start; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done")
	c.pod.RunContainer(t, "httpd", 0, "sh", "-c",
		fmt.Sprintf("mkdir -p /www && echo hello through kubectl > /www/index.html && exec httpd -f -p 127.0.0.1:%d -h /www", c.httpdPort))
	c.pod.RunContainer(t, "echoer", 0, "sh", "-c", "while read line; do echo got $line; done")

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(agent.Port)}},
	}}
	if _, err := c.ts.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	obj := c.pod.Object("node1", "app", "counter", "httpd", "echoer")
	obj.Spec.Containers[3].Stdin = true
	created, err := c.ts.Client.CoreV1().Pods("default").Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP, created.Status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}} // host network
	if _, err := c.ts.Client.CoreV1().Pods("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("pod status: %v", err)
	}
	crinode.WaitFor(t, time.Minute, "the app's log", func(ctx context.Context) (bool, error) {
		out, _, err := c.run(t, "", "logs", "web", "-c", "app")
		return err == nil && strings.Contains(out, "line 3"), nil
	})
	return c
}

// run runs kubectl with stdin and returns stdout, stderr and its error.
func (c *streamingCluster) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kubectl, append([]string{"--kubeconfig", c.ts.KubeconfigPath}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// kubectlProcess is kubectl running in the background; the test's end
// kills it.
type kubectlProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	stderr *crinode.LockedBuffer
}

// start starts kubectl with args, its output read line by line.
func (c *streamingCluster) start(t *testing.T, args ...string) *kubectlProcess {
	t.Helper()
	p := &kubectlProcess{cmd: exec.Command(c.kubectl, append([]string{"--kubeconfig", c.ts.KubeconfigPath}, args...)...),
		stderr: &crinode.LockedBuffer{}}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.lines = bufio.NewScanner(stdout)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

func TestStreamingWithKubectl(t *testing.T) {
	c := startStreamingCluster(t)
	t.Run("logs", c.testLogs)
	t.Run("logs follow", c.testLogsFollow)
	t.Run("exec", c.testExec)
	t.Run("cp", c.testCopy)
	t.Run("port-forward", c.testPortForward)
	t.Run("attach", c.testAttach)
	t.Run("debug", c.testDebug)
	t.Run("api", c.testAPI)
}

// testAPI checks discovery, the node proxy and requests the API server
// answers itself.
func (c *streamingCluster) testAPI(t *testing.T) {
	ctx := context.Background()
	res, err := c.ts.Client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range res.APIResources {
		served[r.Name] = true
	}
	for _, want := range []string{"pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "pods/ephemeralcontainers", "nodes/proxy"} {
		if !served[want] {
			t.Errorf("discovery lacks %s", want)
		}
	}
	out, stderr, err := c.run(t, "", "get", "--raw", "/api/v1/nodes/node1/proxy/stats/summary")
	if err != nil || !strings.Contains(out, `"nodeName":"node1"`) {
		t.Errorf("node proxy to /stats/summary = %v %q %s", err, out, stderr)
	}
	out, stderr, err = c.run(t, "", "get", "--raw", fmt.Sprintf("/api/v1/namespaces/default/pods/web:%d/proxy/index.html", c.httpdPort))
	if err != nil || out != "hello through kubectl\n" {
		t.Errorf("pod proxy = %v %q %s", err, out, stderr)
	}
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: images.BusyboxImageRef}}}}
	if _, err := c.ts.Client.CoreV1().Pods("default").Create(ctx, pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := c.run(t, "", "logs", "pending"); err != nil || out != "" {
		t.Errorf("logs of an unscheduled pod = %v %q %s; want nothing, like upstream", err, out, stderr)
	}
	_, stderr, err = c.run(t, "", "exec", "pending", "--", "true")
	if err == nil || !strings.Contains(stderr, "pod pending does not have a host assigned") {
		t.Errorf("exec in an unscheduled pod = %v, stderr %q", err, stderr)
	}
}

func (c *streamingCluster) testLogs(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantOutRE  string
		wantErrSub string
	}{
		{name: "container", args: []string{"logs", "web", "-c", "app"}, wantOut: "line 1\nline 2\nline 3\n"},
		{name: "tail", args: []string{"logs", "web", "-c", "app", "--tail=1"}, wantOut: "line 3\n"},
		{name: "since", args: []string{"logs", "web", "-c", "app", "--since=1h"}, wantOut: "line 1\nline 2\nline 3\n"},
		{name: "previous", args: []string{"logs", "web", "-c", "app", "--previous"}, wantOut: "first run\n"},
		{name: "timestamps", args: []string{"logs", "web", "-c", "app", "--tail=1", "--timestamps"},
			wantOutRE: `^\d{4}-\d\d-\d\dT[0-9:.]+Z line 3\n$`},
		{name: "limit bytes", args: []string{"logs", "pod/web", "-c", "app", "--limit-bytes=4"}, wantOut: "line"},
		{name: "no previous", args: []string{"logs", "web", "-c", "counter", "--previous"},
			wantErrSub: `Error from server (BadRequest): previous terminated container "counter" in pod "web" not found`},
		{name: "unknown container", args: []string{"logs", "web", "-c", "nope"},
			wantErrSub: "container nope is not valid for pod web"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := c.run(t, "", tc.args...)
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(stderr, tc.wantErrSub) {
					t.Fatalf("kubectl %v = %v, stderr %q; want an error with %q", tc.args, err, stderr, tc.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", tc.args, err, stderr)
			}
			if tc.wantOutRE != "" && !regexp.MustCompile(tc.wantOutRE).MatchString(out) || tc.wantOutRE == "" && out != tc.wantOut {
				t.Errorf("kubectl %v = %q, want %q%s", tc.args, out, tc.wantOut, tc.wantOutRE)
			}
		})
	}
	// Without -c, the server names the choices (kubectl itself defaults
	// to the first container, so ask through the API).
	_, err := c.ts.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).Stream(context.Background())
	if want := "a container name must be specified for pod web, choose one of: [app counter httpd echoer]"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("logs without a container = %v, want %q", err, want)
	}
	tail := int64(-1)
	_, err = c.ts.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Container: "app", TailLines: &tail}).Stream(context.Background())
	if want := "tailLines: Invalid value: -1: must be greater than or equal to 0"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("logs with tailLines -1 = %v, want %q", err, want)
	}
}

// testLogsFollow follows the counter until it finishes: kubectl must print
// its last line and exit.
func (c *streamingCluster) testLogsFollow(t *testing.T) {
	p := c.start(t, "logs", "-f", "web", "-c", "counter")
	lines, stderr := p.lines, p.stderr
	if !lines.Scan() || lines.Text() != "start" {
		t.Fatalf("first followed line = %q, want start (%s)", lines.Text(), stderr.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := c.node.Client.ExecSync(ctx, c.counterID, []string{"touch", "/tmp/go"}, 30*time.Second); err != nil || res.ExitCode != 0 {
		t.Fatalf("touch /tmp/go: %v %+v", err, res)
	}
	if !lines.Scan() || lines.Text() != "done" {
		t.Fatalf("next followed line = %q, want done", lines.Text())
	}
	if lines.Scan() {
		t.Errorf("unexpected line %q after done", lines.Text())
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("kubectl logs -f: %v\n%s", err, stderr.String())
	}
}

func (c *streamingCluster) testExec(t *testing.T) {
	out, stderr, err := c.run(t, "", "exec", "web", "-c", "app", "--", "sh", "-c", "echo hi; exit 3")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 || out != "hi\n" {
		t.Errorf("kubectl exec exit 3 = %v, stdout %q, stderr %q; want exit code 3 and hi", err, out, stderr)
	}
	out, stderr, err = c.run(t, "hello over stdin\n", "exec", "-i", "web", "-c", "app", "--", "cat")
	if err != nil || out != "hello over stdin\n" {
		t.Errorf("kubectl exec -i cat = %v, %q, stderr %q", err, out, stderr)
	}
	_, stderr, err = c.run(t, "", "exec", "web", "-c", "nope", "--", "true")
	if err == nil || !strings.Contains(stderr, "container nope is not valid for pod web") {
		t.Errorf("kubectl exec in an unknown container = %v, stderr %q", err, stderr)
	}
}

// testCopy copies a file into the pod and back (tar over exec).
func (c *streamingCluster) testCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.txt")
	content := strings.Repeat("skiff copies files both ways\n", 2000)
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := c.run(t, "", "cp", src, "default/web:/tmp/copied.txt", "-c", "app"); err != nil {
		t.Fatalf("kubectl cp into the pod: %v\n%s", err, stderr)
	}
	out, stderr, err := c.run(t, "", "exec", "web", "-c", "app", "--", "wc", "-c", "/tmp/copied.txt")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), fmt.Sprint(len(content))) {
		t.Fatalf("size in the pod = %q, %v %s; want %d", out, err, stderr, len(content))
	}
	dst := filepath.Join(dir, "out.txt")
	if _, stderr, err := c.run(t, "", "cp", "default/web:/tmp/copied.txt", dst, "-c", "app"); err != nil {
		t.Fatalf("kubectl cp from the pod: %v\n%s", err, stderr)
	}
	if got, err := os.ReadFile(dst); err != nil || string(got) != content {
		t.Errorf("file copied back: %d bytes, %v; want the %d bytes sent", len(got), err, len(content))
	}
}

func (c *streamingCluster) testPortForward(t *testing.T) {
	p := c.start(t, "port-forward", "pod/web", fmt.Sprintf(":%d", c.httpdPort))
	lines, stderr := p.lines, p.stderr
	var local string
	re := regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> \d+`)
	for local == "" && lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			local = m[1]
		}
	}
	if local == "" {
		t.Fatalf("kubectl port-forward printed no local port; stderr:\n%s", stderr.String())
	}
	go func() { // keep kubectl's output flowing
		for lines.Scan() { //nolint:revive // draining
		}
	}()
	for i := 0; i < 2; i++ {
		resp, err := http.Get("http://127.0.0.1:" + local + "/index.html")
		if err != nil {
			t.Fatalf("GET through kubectl port-forward: %v\n%s", err, stderr.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello through kubectl\n" {
			t.Errorf("GET through kubectl port-forward = %d %q", resp.StatusCode, body)
		}
	}
}

// testAttach attaches to the echoer's stdin and reads its answer.
func (c *streamingCluster) testAttach(t *testing.T) {
	p := c.start(t, "attach", "-i", "web", "-c", "echoer")
	stdin, lines, stderr := p.stdin, p.lines, p.stderr
	// The session may start after the first line was written; keep
	// sending until an answer comes back.
	got := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "got ping") {
				got <- lines.Text()
				return
			}
		}
		close(got)
	}()
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(time.Minute)
	for {
		select {
		case line, ok := <-got:
			if !ok || line != "got ping" {
				t.Fatalf("kubectl attach output ended without the answer; stderr:\n%s", stderr.String())
			}
			return
		case <-ticker.C:
			if _, err := io.WriteString(stdin, "ping\n"); err != nil {
				t.Fatalf("write to kubectl attach: %v\n%s", err, stderr.String())
			}
		case <-deadline:
			t.Fatalf("no answer through kubectl attach within a minute; stderr:\n%s", stderr.String())
		}
	}
}

// testDebug adds an ephemeral container with kubectl debug (the API side:
// no agent runs it yet) and checks that it cannot be changed afterwards.
func (c *streamingCluster) testDebug(t *testing.T) {
	if _, stderr, err := c.run(t, "", "debug", "web", "-c", "debugger", "--image="+images.BusyboxImageRef, "--", "sleep", "60"); err != nil {
		t.Fatalf("kubectl debug: %v\n%s", err, stderr)
	}
	ctx := context.Background()
	pod, err := c.ts.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.EphemeralContainers) != 1 || pod.Spec.EphemeralContainers[0].Name != "debugger" ||
		pod.Spec.EphemeralContainers[0].TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Fatalf("ephemeral containers after kubectl debug = %+v, want a defaulted debugger", pod.Spec.EphemeralContainers)
	}
	pod.Spec.EphemeralContainers = nil
	_, err = c.ts.Client.CoreV1().Pods("default").UpdateEphemeralContainers(ctx, "web", pod, metav1.UpdateOptions{})
	if want := `spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("removing an ephemeral container = %v, want %q", err, want)
	}
	pod, _ = c.ts.Client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "app", Image: images.BusyboxImageRef}})
	_, err = c.ts.Client.CoreV1().Pods("default").UpdateEphemeralContainers(ctx, "web", pod, metav1.UpdateOptions{})
	if want := `spec.ephemeralContainers[1].name: Duplicate value: "app"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("an ephemeral container named like a container = %v, want %q", err, want)
	}
}
