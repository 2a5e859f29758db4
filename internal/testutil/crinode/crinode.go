// Package crinode starts a real managed containerd for a test, with skiff's
// pause and busybox images imported: the runtime under every agent test.
package crinode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/volume"
)

// Node is a managed containerd started for one test, with a client.
type Node struct {
	// Dir is the test's directory; containerd lives in Dir/containerd.
	Dir        string
	Containerd *cri.Containerd
	Client     *cri.Client
	// Logs collects the supervisor's log lines.
	Logs *LockedBuffer
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RequireRuntime skips the test unless it runs as root with containerd
// installed; everything else it needs must be there.
func RequireRuntime(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd and containers")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skip("containerd is not installed (apt-get install containerd runc crun containernetworking-plugins busybox-static)")
	}
}

// Start starts a managed containerd in a temp dir and dials it. Cleanup
// removes every pod sandbox, stops containerd and unmounts what is left.
func Start(t testing.TB) *Node {
	t.Helper()
	RequireRuntime(t)
	n := &Node{Dir: t.TempDir(), Logs: &LockedBuffer{}}
	log := slog.New(slog.NewTextHandler(n.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	n.Containerd, err = cri.NewContainerd(filepath.Join(n.Dir, "containerd"), cri.ContainerdOptions{Log: log})
	if err != nil {
		t.Fatalf("NewContainerd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Containerd.Start(ctx) }()
	t.Cleanup(func() {
		if n.Client != nil {
			RemoveAllSandboxes(t, n.Client)
			n.Client.Close()
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
		UnmountUnder(t, n.Dir)
		if t.Failed() {
			t.Logf("supervisor log:\n%s", n.Logs.String())
			if b, err := os.ReadFile(n.Containerd.LogPath()); err == nil {
				t.Logf("containerd log (tail):\n%s", Tail(string(b), 40))
			}
		}
	})
	select {
	case <-n.Containerd.Ready():
	case err := <-done:
		t.Fatalf("Start returned before containerd was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("containerd not ready within two minutes")
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if n.Client, err = cri.Dial(dctx, n.Containerd.Endpoint()); err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return n
}

// ImportImages builds skiff's pause and busybox images and imports them.
func (n *Node) ImportImages(t testing.TB) {
	t.Helper()
	for name, build := range map[string]func(w *os.File) error{
		"pause.tar":   func(w *os.File) error { return images.PauseImage(w) },
		"busybox.tar": func(w *os.File) error { return images.BusyboxImage(w) },
	} {
		n.ImportTarball(t, name, build)
	}
}

// ImportTarball writes a tarball with build and imports it.
func (n *Node) ImportTarball(t testing.TB, name string, build func(w *os.File) error) {
	t.Helper()
	path := filepath.Join(n.Dir, name)
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
	if err := n.Containerd.Importer().Import(ctx, path); err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
}

// RemoveAllSandboxes stops and removes every pod sandbox.
func RemoveAllSandboxes(t testing.TB, c *cri.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods, err := c.ListPodSandbox(ctx, nil)
	if err != nil {
		t.Errorf("list sandboxes for cleanup: %v", err)
		return
	}
	for _, p := range pods {
		// A container the agent is starting or whose shim is exiting just
		// then makes a stop fail ("ttrpc: closed"); a later one finds it
		// settled.
		err := c.StopPodSandbox(ctx, p.GetId())
		for try := 1; err != nil && try < 10 && ctx.Err() == nil; try++ {
			time.Sleep(500 * time.Millisecond)
			err = c.StopPodSandbox(ctx, p.GetId())
		}
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := c.RemovePodSandbox(ctx, p.GetId()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// UnmountUnder detaches every mount below dir, deepest first, so the temp
// dir can be removed even after a failed test.
func UnmountUnder(t testing.TB, dir string) {
	points, err := volume.MountPointsUnder(dir)
	if err != nil {
		return
	}
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			t.Logf("unmount %s: %v", mp, err)
		}
	}
}

// WaitFor polls cond until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
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

// Tail returns the last lines of s.
func Tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// RemoveLeftovers starts the managed containerd of dir (DIR/containerd of
// an agent that has stopped) again, removes every pod sandbox it still
// runs, and stops it: the agent leaves pods running when it stops, as the
// kubelet does, and a test must not leave them behind.
func RemoveLeftovers(t testing.TB, dir string) {
	if _, err := os.Stat(filepath.Join(dir, "config.toml")); err != nil {
		return
	}
	ctd, err := cri.NewContainerd(dir, cri.ContainerdOptions{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctd.Start(ctx) }()
	defer func() {
		cancel()
		<-done
		UnmountUnder(t, dir)
	}()
	select {
	case <-ctd.Ready():
	case err := <-done:
		done <- err
		t.Logf("cleanup: containerd: %v", err)
		return
	case <-time.After(time.Minute):
		t.Logf("cleanup: containerd not ready")
		return
	}
	client, err := cri.Dial(ctx, ctd.Endpoint())
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer client.Close()
	RemoveAllSandboxes(t, client)
}

// ContainerdPid finds the running containerd using config, 0 if none.
func ContainerdPid(t testing.TB, config string) int {
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
		if err == nil && strings.Contains(string(cmdline), want) && ProcessAlive(pid) {
			return pid
		}
	}
	return 0
}

// ProcessAlive reports whether pid exists and is not a zombie.
func ProcessAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// CPUMeter measures the CPU time of a process and everything it starts
// afterwards (containerd: its shims, runc and the CNI plugins), by moving
// the process into a cgroup of its own. Containers are moved on by their
// runtime into their own cgroups, so their processes are not counted.
type CPUMeter struct {
	// usage reads the cgroup's CPU time so far.
	usage func() (time.Duration, error)
}

// MeterCPU moves pid into a new cgroup (cgroup v1 cpuacct or cgroup v2)
// removed when the test ends; it skips the test when neither can be used.
func MeterCPU(t testing.TB, pid int) *CPUMeter {
	t.Helper()
	name := fmt.Sprintf("skiff-meter-%d-%d", os.Getpid(), pid)
	for _, c := range []struct {
		root, file string
		read       func([]byte) (time.Duration, error)
	}{
		{"/sys/fs/cgroup/cpuacct", "cpuacct.usage", func(b []byte) (time.Duration, error) {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return time.Duration(ns), err
		}},
		{"/sys/fs/cgroup", "cpu.stat", func(b []byte) (time.Duration, error) {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
					us, err := strconv.ParseInt(v, 10, 64)
					return time.Duration(us) * time.Microsecond, err
				}
			}
			return 0, errors.New("no usage_usec in cpu.stat")
		}},
	} {
		if _, err := os.Stat(filepath.Join(c.root, c.file)); err != nil {
			continue
		}
		dir := filepath.Join(c.root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			_ = os.Remove(dir)
			continue
		}
		root := c.root
		t.Cleanup(func() {
			// Whatever still runs in the cgroup goes back to the root one,
			// so the cgroup can be removed.
			if procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
				for _, p := range strings.Fields(string(procs)) {
					_ = os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(p), 0o644)
				}
			}
			if err := os.Remove(dir); err != nil {
				t.Logf("remove cgroup %s: %v", dir, err)
			}
		})
		read := c.read
		file := filepath.Join(dir, c.file)
		return &CPUMeter{usage: func() (time.Duration, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return 0, err
			}
			return read(b)
		}}
	}
	t.Skip("no cgroup to measure CPU time in")
	return nil
}

// Usage is the CPU time used so far.
func (m *CPUMeter) Usage(t testing.TB) time.Duration {
	t.Helper()
	d, err := m.usage()
	if err != nil {
		t.Fatalf("read CPU usage: %v", err)
	}
	return d
}
