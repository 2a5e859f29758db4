package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// This file runs `skiff server` as a separate process for the benchmarks:
// the binary is built once per `go test` run, and each serverProcess is one
// server on a fresh data dir and a free loopback port.

// mediaProtobuf is the content type kube components use for built-in types.
const mediaProtobuf = "application/vnd.kubernetes.protobuf"

// skiffBuild builds the skiff binary once per test binary run.
var skiffBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	// The in-process server logs through slog; keep info lines out of the
	// benchmark output so it stays parseable (benchstat).
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	code := m.Run()
	if skiffBuild.dir != "" {
		os.RemoveAll(skiffBuild.dir)
	}
	os.Exit(code)
}

// skiffBinary returns the path of a freshly built skiff binary.
func skiffBinary(b *testing.B) string {
	b.Helper()
	skiffBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "skiff-bench-bin-")
		if err != nil {
			skiffBuild.err = err
			return
		}
		skiffBuild.dir = dir
		skiffBuild.path = filepath.Join(dir, "skiff")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(goTool, "build", "-o", skiffBuild.path, "github.com/skiffhq/skiff/cmd/skiff").CombinedOutput()
		if err != nil {
			skiffBuild.err = fmt.Errorf("go build ./cmd/skiff: %w\n%s", err, out)
		}
	})
	if skiffBuild.err != nil {
		b.Fatal(skiffBuild.err)
	}
	return skiffBuild.path
}

// serverProcess is one running `skiff server` child process.
type serverProcess struct {
	cmd     *exec.Cmd
	dataDir string
	url     string
	log     *os.File
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer execs `skiff server` on dataDir and port and returns at once;
// the server's log goes to server-<port>.log next to dataDir.
func startServer(bin, dataDir string, port int) (*serverProcess, error) {
	log, err := os.Create(filepath.Join(filepath.Dir(dataDir), "server-"+strconv.Itoa(port)+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--data-dir", dataDir,
		"--https-listen-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--disable-agent", "--disable-scheduler", "--disable-controllers")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start skiff server: %w", err)
	}
	p := &serverProcess{cmd: cmd, dataDir: dataDir, url: fmt.Sprintf("https://127.0.0.1:%d", port),
		log: log, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// newReadyzClient is an HTTPS client for polling /readyz before the
// server's CA is known (the admin kubeconfig is written after ready).
func newReadyzClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
}

// waitReady polls GET /readyz every interval until it answers 200.
func (p *serverProcess) waitReady(ctx context.Context, c *http.Client, interval time.Duration) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("skiff server exited before ready: %v\n%s", p.waitErr, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("skiff server not ready: %w\n%s", ctx.Err(), p.logTail())
		case <-time.After(interval):
		}
	}
}

// startReadyServer starts a server on a fresh data dir, waits until it is
// ready and returns it with an admin client config; the server stops when b
// ends.
func startReadyServer(b *testing.B) (*serverProcess, *rest.Config) {
	b.Helper()
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	p, err := startServer(skiffBinary(b), filepath.Join(b.TempDir(), "data"), port)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.stop(); err != nil {
			b.Errorf("stop server: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.waitReady(ctx, newReadyzClient(), 5*time.Millisecond); err != nil {
		b.Fatal(err)
	}
	cfg, err := p.restConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return p, cfg
}

// restConfig loads the admin kubeconfig, waiting for it to be written.
func (p *serverProcess) restConfig(ctx context.Context) (*rest.Config, error) {
	path := filepath.Join(p.dataDir, "admin.kubeconfig")
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if cfg, err := clientcmd.RESTConfigFromKubeConfig(data); err == nil {
				return cfg, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rssMiB reads the VmRSS of the server process in MiB.
func (p *serverProcess) rssMiB() (float64, error) {
	return procStatusMiB(p.cmd.Process.Pid, "VmRSS")
}

// cpuTime is the user+system CPU time the server process has used so far,
// all threads included (/proc/<pid>/stat, in USER_HZ = 100 ticks/s).
func (p *serverProcess) cpuTime() (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name start at field 3 (state);
	// utime and stime are fields 14 and 15.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("parse %s: no command name", path)
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse %s: %d fields", path, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", path, err)
		}
		ticks += n
	}
	const userHZ = 100
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// procStatusMiB reads a kB field of /proc/<pid>/status in MiB.
func procStatusMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s %q: %w", field, rest, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// stop sends SIGTERM and waits for the exit, killing after 15s; it is safe
// to call twice.
func (p *serverProcess) stop() error {
	defer p.log.Close()
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("skiff server did not stop within 15s of SIGTERM\n%s", p.logTail())
	}
}

// logTail is the end of the server's log, for failure messages.
func (p *serverProcess) logTail() string {
	data, err := os.ReadFile(p.log.Name())
	if err != nil {
		return ""
	}
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// newClients returns n clientsets, each with its own TCP connection (a
// custom Dial keeps client-go from sharing one transport), talking protobuf
// like kube components do, without client-side rate limiting.
func newClients(base *rest.Config, n int) ([]kubernetes.Interface, error) {
	clients := make([]kubernetes.Interface, n)
	for i := range clients {
		cfg := rest.CopyConfig(base)
		cfg.QPS, cfg.Burst = 1e6, 1e6
		cfg.ContentType = mediaProtobuf
		cfg.AcceptContentTypes = mediaProtobuf + ",application/json"
		cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, err
		}
		clients[i] = c
	}
	return clients, nil
}
