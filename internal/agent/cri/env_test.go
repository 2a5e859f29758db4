package cri_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
)

// node is a managed containerd started for one test, with a client.
type node struct {
	dir    string
	ctd    *cri.Containerd
	client *cri.Client
	logs   *lockedBuffer
}

// lockedBuffer collects the supervisor's log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// requireRuntime skips the test unless it runs as root with containerd
// installed; everything else it needs must be there.
func requireRuntime(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd and containers")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skip("containerd is not installed (apt-get install containerd runc crun containernetworking-plugins busybox-static)")
	}
}

// startNode starts a managed containerd in a temp dir and dials it. Cleanup
// removes every pod sandbox, stops containerd and unmounts what is left.
func startNode(t *testing.T) *node {
	t.Helper()
	requireRuntime(t)
	n := &node{dir: t.TempDir(), logs: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	n.ctd, err = cri.NewContainerd(filepath.Join(n.dir, "containerd"), cri.ContainerdOptions{Log: log})
	if err != nil {
		t.Fatalf("NewContainerd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.ctd.Start(ctx) }()
	t.Cleanup(func() {
		if n.client != nil {
			removeAllSandboxes(t, n.client)
			n.client.Close()
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v after the context ended", err)
			}
		case <-time.After(time.Minute):
			t.Error("containerd supervisor did not stop within a minute")
		}
		unmountUnder(t, n.dir)
		if t.Failed() {
			t.Logf("supervisor log:\n%s", n.logs.String())
			if b, err := os.ReadFile(n.ctd.LogPath()); err == nil {
				t.Logf("containerd log (tail):\n%s", tail(string(b), 40))
			}
		}
	})
	select {
	case <-n.ctd.Ready():
	case err := <-done:
		t.Fatalf("Start returned before containerd was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("containerd not ready within two minutes")
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if n.client, err = cri.Dial(dctx, n.ctd.Endpoint()); err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return n
}

// importImages builds the pause and busybox images and imports them.
func (n *node) importImages(t *testing.T) {
	t.Helper()
	for name, build := range map[string]func(w *os.File) error{
		"pause.tar":   func(w *os.File) error { return images.PauseImage(w) },
		"busybox.tar": func(w *os.File) error { return images.BusyboxImage(w) },
	} {
		n.importTarball(t, name, build)
	}
}

// importTarball writes a tarball with build and imports it.
func (n *node) importTarball(t *testing.T, name string, build func(w *os.File) error) {
	t.Helper()
	path := filepath.Join(n.dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := build(f); err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.ctd.Importer().Import(ctx, path); err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
}

// sandboxConfig is a pod on the host network with its own pid namespace.
func (n *node) sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		LogDirectory: filepath.Join(n.dir, "pods", uid),
		Labels:       map[string]string{"io.kubernetes.pod.name": name},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_NODE,
					Pid:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// containerConfig runs command from image in the pod's namespaces.
func containerConfig(name, image string, command ...string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  command,
		LogPath:  filepath.Join(name, "0.log"),
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_NODE,
					Pid:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// runContainer creates and starts a container and returns its ID.
func (n *node) runContainer(t *testing.T, sandboxID string, sandbox *runtimeapi.PodSandboxConfig, config *runtimeapi.ContainerConfig) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := n.client.CreateContainer(ctx, sandboxID, config, sandbox)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := n.client.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return id
}

// waitContainer waits until the container is in state want.
func (n *node) waitContainer(t *testing.T, id string, want runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	t.Helper()
	var status *runtimeapi.ContainerStatus
	waitFor(t, time.Minute, "container "+id+" to reach "+want.String(), func(ctx context.Context) (bool, error) {
		var err error
		status, err = n.client.ContainerStatus(ctx, id)
		return err == nil && status.GetState() == want, err
	})
	return status
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		ok, err := cond(cctx)
		ccancel()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waited %s for %s; last error: %v", timeout, what, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readCRILog returns the messages of a CRI-format container log
// ("TIMESTAMP STREAM TAG MESSAGE" per line).
func readCRILog(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open container log: %v", err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) != 4 {
			t.Fatalf("malformed CRI log line %q", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
			t.Fatalf("CRI log line %q: bad timestamp: %v", sc.Text(), err)
		}
		msgs = append(msgs, parts[1]+" "+parts[3])
	}
	return msgs
}

// removeAllSandboxes stops and removes every pod sandbox.
func removeAllSandboxes(t *testing.T, c *cri.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods, err := c.ListPodSandbox(ctx, nil)
	if err != nil {
		t.Errorf("list sandboxes for cleanup: %v", err)
		return
	}
	for _, p := range pods {
		if err := c.StopPodSandbox(ctx, p.GetId()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := c.RemovePodSandbox(ctx, p.GetId()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first, so the temp
// dir can be removed even after a failed test.
func unmountUnder(t *testing.T, dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			t.Logf("unmount %s: %v", mp, err)
		}
	}
}

func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// containerdPid finds the running containerd using config.
func containerdPid(t *testing.T, config string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := "\x00--config\x00" + config + "\x00"
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(cmdline), want) && processAlive(pid) {
			return pid
		}
	}
	return 0
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
