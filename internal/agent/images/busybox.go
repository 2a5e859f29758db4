package images

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

const (
	// PauseImageRef names skiff's pod sandbox image; the managed containerd
	// uses it as its sandbox_image.
	PauseImageRef = "skiff.local/pause:3.10"
	// BusyboxImageRef names the busybox image built from the host's
	// busybox-static. Not ":latest", so pods default to imagePullPolicy
	// IfNotPresent and use the imported image instead of trying a registry.
	BusyboxImageRef = "skiff.local/busybox:stable"
	// BusyboxPath is where Debian's busybox-static package installs the
	// statically linked busybox both images are made from.
	BusyboxPath = "/bin/busybox"
)

// ErrBusyboxNotStatic is returned when the busybox binary is dynamically
// linked and so cannot run alone in an image.
var ErrBusyboxNotStatic = errors.New("images: busybox is dynamically linked (install Debian's busybox-static)")

// pauseScript is the pause container's program. As PID 1 of the pod, busybox
// sh reaps every orphan reparented to it while it waits, and a trapped signal
// interrupts the wait at once. The sleep is only something to wait on; it
// dies with the pid namespace when sh exits, and is killed on the way out for
// pods that share the host's pid namespace. That kill is SIGKILL: a forked
// child still running sh's code before it execs sleep would swallow SIGTERM.
const pauseScript = `trap 'kill -9 $! 2>/dev/null; exit 0' TERM INT; while :; do sleep 2147483647 & wait $!; done`

// PauseImage writes skiff's pause image (PauseImageRef) to w as an OCI image
// layout tarball. It runs as user 65535, like the upstream pause image.
func PauseImage(w io.Writer) error {
	files, err := busyboxFiles(BusyboxPath)
	if err != nil {
		return err
	}
	return Build(w, PauseImageRef, files, ImageConfig{
		Entrypoint: []string{"/bin/sh", "-c", pauseScript},
		Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		User:       "65535:65535",
		WorkingDir: "/",
		Labels:     map[string]string{"io.skiff.image": "pause"},
	})
}

// BusyboxImage writes BusyboxImageRef to w as an OCI image layout tarball:
// the host's busybox-static with its applets linked at their usual paths, a
// minimal /etc/passwd and /etc/group, and "sh" as the command.
func BusyboxImage(w io.Writer) error {
	files, err := busyboxFiles(BusyboxPath)
	if err != nil {
		return err
	}
	return Build(w, BusyboxImageRef, files, ImageConfig{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	})
}

// busyboxFiles is the filesystem shared by the pause and busybox images, so
// both have the same layer and containerd stores it once.
func busyboxFiles(busybox string) ([]File, error) {
	if err := checkStatic(busybox); err != nil {
		return nil, err
	}
	bin, err := HostFile(busybox, "/bin/busybox")
	if err != nil {
		return nil, err
	}
	bin.Mode = 0o755
	applets, err := busyboxApplets(busybox)
	if err != nil {
		return nil, err
	}
	files := []File{
		bin,
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{Path: "/root", Mode: fs.ModeDir | 0o700},
	}
	for _, a := range applets {
		files = append(files, File{Path: a, Mode: fs.ModeSymlink | 0o777, Link: "/bin/busybox"})
	}
	return files, nil
}

// busyboxApplets lists the absolute paths of busybox's applets, as
// `busybox --list-full` gives them, without busybox itself and linuxrc.
func busyboxApplets(busybox string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, busybox, "--list-full")
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var applets []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch line {
		case "", "bin/busybox", "linuxrc":
			continue
		}
		applets = append(applets, "/"+line)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("list busybox applets: %s lists none", busybox)
	}
	return applets, nil
}

// checkStatic fails unless the ELF file at p has no program interpreter.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("images: %s not found (install Debian's busybox-static): %w", p, err)
		}
		return fmt.Errorf("images: read %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s", ErrBusyboxNotStatic, p)
		}
	}
	return nil
}
