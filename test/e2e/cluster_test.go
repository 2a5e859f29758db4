package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kubectlPath is the real kubectl (v1.32) the tests drive.
const kubectlPath = "/usr/bin/kubectl"

// Generous bounds: they only cap how long a broken server can hang a test,
// they are never what a test asserts.
const (
	startTimeout   = 90 * time.Second // server start until /readyz answers
	stopTimeout    = 30 * time.Second // SIGTERM until the server process exits
	commandTimeout = 60 * time.Second // one kubectl invocation
	waitTimeout    = 30 * time.Second // eventually() conditions
	pollInterval   = 100 * time.Millisecond
)

// cluster is one running `skiff server` and the kubectl settings that reach it.
type cluster struct {
	kubeconfig string // DATA_DIR/admin.kubeconfig written by the server
	cacheDir   string // kubectl's discovery and HTTP cache, private to this cluster
	dataDir    string
	args       []string // the server's arguments, for restarts
	logs       *syncBuffer
	proc       *serverProcess
}

// serverProcess is one run of `skiff server`.
type serverProcess struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startCluster starts a skiff server (no node agent) in a fresh data directory,
// waits until it is ready and stops it when t ends. The server's log is added
// to the test log if t failed. Tests are skipped when kubectl is not installed.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startServer(t, "--disable-agent")
}

// startServer starts `skiff server` with extra arguments in a fresh data
// directory and waits until it is ready.
func startServer(t *testing.T, extra ...string) *cluster {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		t.Skipf("skipping end-to-end test: kubectl not found at %s (install the Debian package kubectl, e.g. `make deps-test`): %v", kubectlPath, err)
	}
	dataDir := t.TempDir()
	c := &cluster{
		kubeconfig: filepath.Join(dataDir, "admin.kubeconfig"),
		cacheDir:   t.TempDir(),
		dataDir:    dataDir,
		logs:       &syncBuffer{},
	}
	c.args = append([]string{"server", "--data-dir", dataDir, "--https-listen-port", "0", "--bind-address", "127.0.0.1"}, extra...)
	// Registered after t.TempDir, so it runs before the data directory is removed.
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("skiff server log:\n%s", c.logs.String())
		}
	})
	c.start(t)
	return c
}

// start runs the server process and waits for /readyz.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(skiffBin, c.args...)
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start skiff server: %v", err)
	}
	p := &serverProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	c.proc = p

	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for {
		select {
		case <-p.exited:
			t.Fatalf("skiff server exited before it was ready: %v", p.waitErr)
		default:
		}
		if _, err := os.Stat(c.kubeconfig); err != nil {
			lastErr = err
		} else if _, stderr, err := c.kubectl(t, "get", "--raw", "/readyz", "--request-timeout=5s"); err != nil {
			lastErr = errors.New(strings.TrimSpace(stderr))
		} else {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("skiff server not ready after %v: %v", startTimeout, lastErr)
		}
		time.Sleep(pollInterval)
	}
}

// stop stops the running server process, if any.
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	if c.proc == nil {
		return
	}
	stopServer(t, c.proc.cmd, c.proc.exited)
	c.proc = nil
}

// stopServer sends SIGTERM and waits for the process to exit, killing it if
// it does not exit in time.
func stopServer(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal skiff server: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		t.Errorf("skiff server did not exit %v after SIGTERM; killing it", stopTimeout)
		_ = cmd.Process.Kill()
		<-exited
	}
}

// kubectl runs kubectl against the cluster and returns what it printed.
// err is non-nil when kubectl exits non-zero (see exitCode).
func (c *cluster) kubectl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	err = cmd.Run()
	t.Logf("kubectl %s (exit %d)", strings.Join(args, " "), exitCode(err))
	return outBuf.String(), errBuf.String(), err
}

// mustKubectl runs kubectl and fails the test unless it succeeds; it returns stdout.
func (c *cluster) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := c.kubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// command builds a kubectl command bound to this cluster. The environment is
// the test's minus anything that would point kubectl elsewhere.
func (c *cluster) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--kubeconfig", c.kubeconfig, "--cache-dir", c.cacheDir}, args...)
	cmd := exec.CommandContext(ctx, kubectlPath, full...)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "KUBECTL_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	return cmd
}

// watcher is a long-running kubectl (e.g. `get -w`) whose output is collected.
type watcher struct {
	out  *syncBuffer
	done chan struct{}
}

// kubectlBackground starts kubectl in the background. It is stopped when t
// ends, or after commandTimeout at the latest.
func (c *cluster) kubectlBackground(t *testing.T, args ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := c.command(ctx, args...)
	w := &watcher{out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("kubectl %s (background)", strings.Join(args, " "))
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// waitForLine waits until the watcher has printed a line matching re.
func (w *watcher) waitForLine(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	eventually(t, func() (bool, string) {
		for _, line := range strings.Split(w.out.String(), "\n") {
			if re.MatchString(line) {
				return true, ""
			}
		}
		select {
		case <-w.done:
			t.Fatalf("kubectl exited before printing a line matching %q; output:\n%s", re, w.out.String())
		default:
		}
		return false, "no line matches " + re.String() + "; output so far:\n" + w.out.String()
	})
}

// eventually polls cond until it reports true, failing the test with cond's
// last message if that does not happen within waitTimeout.
func eventually(t *testing.T, cond func() (ok bool, msg string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %s", waitTimeout, msg)
		}
		time.Sleep(pollInterval)
	}
}

// writeManifest writes content to a file named name in a fresh temporary
// directory and returns its path, for `kubectl ... -f`.
func writeManifest(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write manifest: %v", err)
	}
	return path
}

// exitCode is the process exit code kubectl's err stands for (0 for nil, -1
// when kubectl did not exit normally).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lines splits output into its non-empty lines.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// syncBuffer is a bytes.Buffer safe for concurrent use (a process writing, a test reading).
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
