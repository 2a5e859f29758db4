package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/server"
	"github.com/skiffhq/skiff/internal/agent/server/agenttest"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// env is a containerd node with one pod "web" and the agent API over it.
type env struct {
	node   *crinode.Node
	pod    *agenttest.Pod
	agent  *agenttest.Agent
	client *http.Client
	// clientTLS is the API server's identity.
	clientTLS *tls.Config
	// httpdPort is where the pod's web server listens (host network).
	httpdPort int
}

func setup(t *testing.T) *env {
	n := crinode.Start(t)
	n.ImportImages(t)
	e := &env{node: n, httpdPort: agenttest.FreePort(t)}
	e.pod = agenttest.StartPod(t, n.Client, n.Dir, "default", "web")
	// app: a first run that failed, then a running second one.
	first := e.pod.RunContainer(t, "app", 0, "sh", "-c", "echo first run; exit 1")
	agenttest.WaitContainer(t, n.Client, first, runtimeapi.ContainerState_CONTAINER_EXITED)
	e.pod.RunContainer(t, "app", 1, "sh", "-c", "echo second run; echo oops >&2; exec sleep 3600")
	// counter: five lines, then it waits for /tmp/go and exits.
	e.pod.RunContainer(t, "counter", 0, "sh", "-c",
		"for i in 1 2 3 4 5; do echo line $i; done; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done")
	// rotating: a line, another once its log was rotated, then an exit.
	e.pod.RunContainer(t, "rotating", 0, "sh", "-c",
		"echo before; while [ ! -e /tmp/rotated ]; do sleep 0.1; done; echo after; while [ ! -e /tmp/end ]; do sleep 0.1; done")
	e.pod.RunContainer(t, "httpd", 0, "sh", "-c",
		fmt.Sprintf("mkdir -p /www && echo hello from the pod > /www/index.html && exec httpd -f -p 127.0.0.1:%d -h /www", e.httpdPort))
	pods := []*corev1.Pod{e.pod.Object("node1", "app", "counter", "rotating", "httpd", "later")}
	srv := server.New(server.Options{NodeName: "node1", Runtime: n.Client, Pods: func() []*corev1.Pod { return pods }})
	ca := agenttest.NewClientCA(t, n.Dir)
	e.agent = agenttest.Serve(t, n.Dir, srv.Handler(), ca.CertPEM)
	e.agent.ClientCA = ca
	e.clientTLS = e.agent.ClientTLS(t, server.APIServerUser)
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: e.clientTLS}}
	crinode.WaitFor(t, time.Minute, "the app's second run to log", func(context.Context) (bool, error) {
		code, body := e.get(t, "/containerLogs/default/web/app")
		return code == http.StatusOK && strings.Contains(body, "oops"), nil
	})
	return e
}

func (e *env) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := e.client.Get(e.agent.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

func TestAgentAPI(t *testing.T) {
	e := setup(t)
	t.Run("logs", e.testLogs)
	t.Run("follow", e.testFollow)
	t.Run("follow across rotation", e.testFollowRotation)
	t.Run("exec", e.testExec)
	t.Run("port-forward", e.testPortForward)
	t.Run("authorization", e.testAuthorization)
	t.Run("stats", e.testStats)
}

func (e *env) testLogs(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name     string
		path     string
		wantCode int
		want     string
		// wantRE matches the whole body instead of want.
		wantRE string
	}{
		{name: "all", path: "/containerLogs/default/web/counter", wantCode: 200, want: "line 1\nline 2\nline 3\nline 4\nline 5\n"},
		// The runtime copies the two streams apart: their order may differ.
		{name: "stdout and stderr", path: "/containerLogs/default/web/app", wantCode: 200,
			wantRE: "^(second run\noops\n|oops\nsecond run\n)$"},
		{name: "tail", path: "/containerLogs/default/web/counter?tailLines=2", wantCode: 200, want: "line 4\nline 5\n"},
		{name: "tail zero", path: "/containerLogs/default/web/counter?tailLines=0", wantCode: 200, want: ""},
		{name: "limit bytes", path: "/containerLogs/default/web/counter?limitBytes=9", wantCode: 200, want: "line 1\nli"},
		{name: "since in the future", path: "/containerLogs/default/web/counter?sinceTime=" + future, wantCode: 200, want: ""},
		{name: "since seconds", path: "/containerLogs/default/web/counter?sinceSeconds=3600", wantCode: 200, want: "line 1\nline 2\nline 3\nline 4\nline 5\n"},
		{name: "timestamps", path: "/containerLogs/default/web/counter?tailLines=1&timestamps=true", wantCode: 200,
			wantRE: `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line 5\n$`},
		{name: "previous", path: "/containerLogs/default/web/app?previous=true", wantCode: 200, want: "first run\n"},
		{name: "no previous", path: "/containerLogs/default/web/counter?previous=true", wantCode: 400,
			want: "previous terminated container \"counter\" in pod \"web\" not found\n"},
		{name: "not started", path: "/containerLogs/default/web/later", wantCode: 400,
			want: "container \"later\" in pod \"web\" is waiting to start: ContainerCreating\n"},
		{name: "bad tail", path: "/containerLogs/default/web/counter?tailLines=-1", wantCode: 400, want: "invalid tailLines \"-1\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.get(t, tc.path)
			if code != tc.wantCode {
				t.Fatalf("GET %s = %d %q, want %d", tc.path, code, body, tc.wantCode)
			}
			if tc.wantRE != "" {
				if !regexp.MustCompile(tc.wantRE).MatchString(body) {
					t.Errorf("GET %s = %q, want a match of %s", tc.path, body, tc.wantRE)
				}
			} else if body != tc.want {
				t.Errorf("GET %s = %q, want %q", tc.path, body, tc.want)
			}
		})
	}
}

// testFollow follows the counter's log, lets it finish and expects the
// stream to end with its last line.
func (e *env) testFollow(t *testing.T) {
	resp, err := e.client.Get(e.agent.URL + "/containerLogs/default/web/counter?follow=true&tailLines=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, len("line 5\n"))
	if err != nil || string(buf[:n]) != "line 5\n" {
		t.Fatalf("first read of the followed log = %q, %v; want \"line 5\\n\"", buf[:n], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids, err := e.node.Client.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.container.name": "counter"}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("find counter: %v, %v", ids, err)
	}
	if res, err := e.node.Client.ExecSync(ctx, ids[0].GetId(), []string{"touch", "/tmp/go"}, 30*time.Second); err != nil || res.ExitCode != 0 {
		t.Fatalf("touch /tmp/go: %v %+v", err, res)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "done\n" {
		t.Errorf("rest of the followed log = %q, %v; want \"done\\n\" and the end of the stream", rest, err)
	}
}

// testFollowRotation follows a log while the file is rotated (renamed and
// reopened by the runtime, as the agent's log rotation does).
func (e *env) testFollowRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := e.node.Client.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.container.name": "rotating"}})
	if err != nil || len(list) != 1 {
		t.Fatalf("find rotating: %v, %v", list, err)
	}
	id := list[0].GetId()
	resp, err := e.client.Get(e.agent.URL + "/containerLogs/default/web/rotating?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if n, err := io.ReadAtLeast(resp.Body, buf, len("before\n")); err != nil || string(buf[:n]) != "before\n" {
		t.Fatalf("first read = %q, %v; want before", buf[:n], err)
	}
	st, err := e.node.Client.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(st.GetLogPath(), st.GetLogPath()+".1"); err != nil {
		t.Fatal(err)
	}
	if err := e.node.Client.ReopenContainerLog(ctx, id); err != nil {
		t.Fatalf("ReopenContainerLog: %v", err)
	}
	for _, f := range []string{"/tmp/rotated", "/tmp/end"} {
		if res, err := e.node.Client.ExecSync(ctx, id, []string{"touch", f}, 30*time.Second); err != nil || res.ExitCode != 0 {
			t.Fatalf("touch %s: %v %+v", f, err, res)
		}
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "after\n" {
		t.Errorf("rest of the followed log = %q, %v; want after from the new file, then the end", rest, err)
	}
}

// executor connects to an agent URL with one of client-go's executors.
type executor func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error)

func executors() map[string]executor {
	return map[string]executor{
		"spdy": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
		},
		"websocket": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
		},
	}
}

// fixedSize reports one terminal size, then none.
type fixedSize struct{ sent bool }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	if f.sent {
		return nil
	}
	f.sent = true
	return &remotecommand.TerminalSize{Width: 100, Height: 30}
}

func (e *env) testExec(t *testing.T) {
	cfg := e.agent.RESTConfig(t, server.APIServerUser)
	tests := []struct {
		name       string
		query      url.Values
		stdin      string
		tty        bool
		wantStdout string
		wantStderr string
		wantExit   int
	}{
		{name: "exit code", query: url.Values{"command": {"sh", "-c", "echo out; echo err >&2; exit 3"}, "stdout": {"1"}, "stderr": {"1"}},
			wantStdout: "out\n", wantStderr: "err\n", wantExit: 3},
		{name: "stdin", query: url.Values{"command": {"cat"}, "stdin": {"1"}, "stdout": {"1"}, "stderr": {"1"}},
			stdin: "hello over stdin\n", wantStdout: "hello over stdin\n"},
		// The shell waits for the client's terminal size to arrive.
		{name: "tty and resize", query: url.Values{"command": {"sh", "-c", `while :; do s=$(stty size 2>/dev/null); case "$s" in [1-9]*" "[1-9]*) break;; esac; sleep 0.1; done; echo $s`},
			"stdin": {"1"}, "stdout": {"1"}, "tty": {"1"}}, tty: true, wantStdout: "30 100\r\n"},
	}
	for name, newExec := range executors() {
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				u, _ := url.Parse(e.agent.URL + "/exec/default/web/app?" + tc.query.Encode())
				ex, err := newExec(cfg, u)
				if err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &stdout, Tty: tc.tty}
				if !tc.tty {
					opts.Stderr = &stderr
				} else {
					opts.TerminalSizeQueue = &fixedSize{}
				}
				switch {
				case tc.stdin != "":
					opts.Stdin = strings.NewReader(tc.stdin)
				case tc.tty: // a terminal that stays open
					r, w := io.Pipe()
					defer w.Close()
					opts.Stdin = r
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				err = ex.StreamWithContext(ctx, opts)
				var exit utilexec.ExitError
				switch {
				case tc.wantExit == 0 && err != nil:
					t.Fatalf("exec: %v", err)
				case tc.wantExit != 0 && (!errors.As(err, &exit) || exit.ExitStatus() != tc.wantExit):
					t.Fatalf("exec error = %v, want exit code %d", err, tc.wantExit)
				}
				if stdout.String() != tc.wantStdout || stderr.String() != tc.wantStderr {
					t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tc.wantStdout, tc.wantStderr)
				}
			})
		}
	}
}

func (e *env) testAuthorization(t *testing.T) {
	tests := []struct {
		name     string
		tls      *tls.Config
		wantCode int
	}{
		{name: "api server", tls: e.clientTLS, wantCode: http.StatusOK},
		{name: "system:masters", tls: e.agent.ClientTLS(t, "admin", "system:masters"), wantCode: http.StatusOK},
		{name: "other user", tls: e.agent.ClientTLS(t, "mallory", "developers"), wantCode: http.StatusForbidden},
		{name: "no certificate", tls: &tls.Config{InsecureSkipVerify: true}, wantCode: http.StatusUnauthorized}, //nolint:gosec // test
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.tls}}
			for _, path := range []string{"/pods", "/containerLogs/default/web/app"} {
				resp, err := c.Get(e.agent.URL + path)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.wantCode {
					t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, tc.wantCode)
				}
			}
		})
	}
}

func (e *env) testStats(t *testing.T) {
	code, body := e.get(t, "/stats/summary")
	if code != 200 || !strings.Contains(body, `"nodeName":"node1"`) || !strings.Contains(body, `"name":"web"`) ||
		!strings.Contains(body, `"usageCoreNanoSeconds"`) {
		t.Errorf("/stats/summary = %d %s; want node1 and pod web with CPU usage", code, body)
	}
	code, body = e.get(t, "/metrics/cadvisor")
	if code != 200 || !regexp.MustCompile(`container_cpu_usage_seconds_total\{container="app",id="/[0-9a-f]+",.*namespace="default",pod="web"\}`).MatchString(body) ||
		!strings.Contains(body, `container_memory_working_set_bytes{container="",id="/"`) {
		t.Errorf("/metrics/cadvisor = %d\n%s\nwant app's CPU and the node's memory", code, body)
	}
	if code, body = e.get(t, "/pods"); code != 200 || !strings.Contains(body, `"name":"web"`) {
		t.Errorf("/pods = %d %s", code, body)
	}
	resp, err := e.client.PostForm(e.agent.URL+"/run/default/web/app", url.Values{"cmd": {"echo ran here"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ran here\n" {
		t.Errorf("/run = %d %q, want the command's output", resp.StatusCode, b)
	}
}
