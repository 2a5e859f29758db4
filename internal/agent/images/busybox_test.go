package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/agent/images"
)

func buildImage(t *testing.T, build func(w *bytes.Buffer) error) image {
	t.Helper()
	var buf bytes.Buffer
	if err := build(&buf); err != nil {
		t.Fatalf("build: %v", err)
	}
	return readImage(t, buf.Bytes())
}

func TestBusyboxImageHasAppletsAtTheirUsualPaths(t *testing.T) {
	img := buildImage(t, func(w *bytes.Buffer) error { return images.BusyboxImage(w) })

	if got := img.index.Annotations["io.containerd.image.name"]; got != images.BusyboxImageRef {
		t.Errorf("image name = %q, want %q", got, images.BusyboxImageRef)
	}
	bin, ok := img.entries["bin/busybox"]
	if !ok || bin.typeflag != tar.TypeReg || bin.mode != 0o755 {
		t.Fatalf("bin/busybox = %+v (present %v), want a 0755 regular file", bin, ok)
	}
	host, err := os.ReadFile(images.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if bin.data != string(host) {
		t.Error("bin/busybox differs from the host's busybox")
	}
	for _, applet := range []string{"bin/sh", "bin/sleep", "bin/echo", "bin/cat", "usr/bin/env", "bin/ls"} {
		e, ok := img.entries[applet]
		if !ok || e.typeflag != tar.TypeSymlink || e.link != "/bin/busybox" {
			t.Errorf("%s = %+v (present %v), want a symlink to /bin/busybox", applet, e, ok)
		}
	}
	if e := img.entries["etc/passwd"]; !strings.Contains(e.data, "root:x:0:0:") {
		t.Errorf("etc/passwd = %q, want a root entry", e.data)
	}
	if e := img.entries["tmp"]; e.typeflag != tar.TypeDir || e.mode != 0o1777 {
		t.Errorf("tmp = %+v, want a 1777 directory", e)
	}
	if got, _ := json.Marshal(img.runtime["Cmd"]); string(got) != `["sh"]` {
		t.Errorf("Cmd = %s, want [\"sh\"]", got)
	}
}

func TestPauseImageSharesTheBusyboxLayer(t *testing.T) {
	pause := buildImage(t, func(w *bytes.Buffer) error { return images.PauseImage(w) })
	busybox := buildImage(t, func(w *bytes.Buffer) error { return images.BusyboxImage(w) })

	if got := pause.index.Annotations["io.containerd.image.name"]; got != images.PauseImageRef {
		t.Errorf("image name = %q, want %q", got, images.PauseImageRef)
	}
	if pause.diffIDs[0] != busybox.diffIDs[0] {
		t.Errorf("pause layer %v differs from busybox layer %v; they should be stored once", pause.diffIDs, busybox.diffIDs)
	}
	if got := pause.runtime["User"]; got != "65535:65535" {
		t.Errorf("User = %v, want 65535:65535", got)
	}
}

// TestPauseProgramExitsOnTerm runs the pause image's entrypoint with the
// host's busybox (as a plain process, not PID 1) and stops it with SIGTERM.
// Zombie reaping as PID 1 is covered by the cri package's tests.
func TestPauseProgramExitsOnTerm(t *testing.T) {
	pause := buildImage(t, func(w *bytes.Buffer) error { return images.PauseImage(w) })
	var entrypoint []string
	raw, _ := json.Marshal(pause.runtime["Entrypoint"])
	mustUnmarshal(t, raw, &entrypoint)
	if len(entrypoint) != 3 || entrypoint[0] != "/bin/sh" || entrypoint[1] != "-c" {
		t.Fatalf("entrypoint = %q, want /bin/sh -c SCRIPT", entrypoint)
	}

	// A signal ignored when a shell starts cannot be trapped, and a test run
	// in the background (go test from a script) inherits SIGINT ignored. A
	// Go handler in this process makes children start with the default
	// disposition, as the pause container does in its own pid namespace.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, syscall.SIGINT)
	defer signal.Stop(interrupts)

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, images.BusyboxPath, "sh", "-c", entrypoint[2])
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the loop runs (its sleep child exists), so the
			// trap is installed.
			var kids []string
			for kids = children(cmd.Process.Pid); len(kids) == 0; kids = children(cmd.Process.Pid) {
				if ctx.Err() != nil {
					t.Fatal("pause program never started its sleep")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("pause program ignored %v", sig)
			}
			if err != nil {
				t.Fatalf("pause program exited with %v, want status 0", err)
			}
			for alive(kids[0]) {
				if ctx.Err() != nil {
					t.Fatalf("pause program left its sleep %s running", kids[0])
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// children returns the child pids of pid.
func children(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// alive reports whether pid runs (a zombie has finished running).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
