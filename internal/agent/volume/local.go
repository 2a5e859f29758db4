package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// setUpEmptyDir creates an emptyDir (0777, like the kubelet's), backed by a
// tmpfs for medium Memory, sized by sizeLimit when one is given.
func (m *Manager) setUpEmptyDir(pod *corev1.Pod, name string, src *corev1.EmptyDirVolumeSource) error {
	dir := m.VolumeDir(pod.UID, PluginEmptyDir, name)
	_, statErr := os.Stat(dir)
	created := os.IsNotExist(statErr)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create emptyDir: %w", err)
	}
	switch src.Medium {
	case corev1.StorageMediumDefault:
	case corev1.StorageMediumMemory:
		mounted, err := isMountPoint(dir)
		if err != nil {
			return err
		}
		if !mounted {
			opts := "mode=0777"
			if src.SizeLimit != nil && src.SizeLimit.Value() > 0 {
				opts += fmt.Sprintf(",size=%d", src.SizeLimit.Value())
			}
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
				return fmt.Errorf("mount tmpfs for emptyDir: %w", err)
			}
			created = true
		}
	default:
		return fmt.Errorf("emptyDir medium %q is not supported (use \"\" or Memory)", src.Medium)
	}
	if !created {
		return nil
	}
	// The umask filtered MkdirAll's mode.
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	return setOwnership(pod, dir, false)
}

// checkHostPathType checks (or creates) a hostPath volume's path as its
// type asks, with the kubelet's messages.
func checkHostPathType(path string, t *corev1.HostPathType) error {
	if t == nil || *t == corev1.HostPathUnset {
		return nil
	}
	info, err := os.Stat(path)
	exists := err == nil
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("hostPath type check failed: %w", err)
	}
	is := func(want fs.FileMode) bool { return exists && info.Mode().Type() == want }
	switch *t {
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("hostPath type check failed: create %s: %w", path, err)
			}
			return os.Chmod(path, 0o755)
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists || !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			return createHostFile(path)
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists || !info.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !is(fs.ModeSocket) {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !is(fs.ModeDevice | fs.ModeCharDevice) {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !is(fs.ModeDevice) {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", *t)
	}
	return nil
}

// createHostFile creates an empty 0644 file (FileOrCreate); its parent
// directory must exist, as upstream.
func createHostFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("hostPath type check failed: create %s: %w", path, err)
	}
	if f != nil {
		f.Close()
		return os.Chmod(path, 0o644)
	}
	return nil
}

// MountPointsUnder lists the mount points strictly below dir, deepest
// first, from /proc/self/mountinfo (test cleanups use it too).
func MountPointsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeOctal(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// isMountPoint reports whether dir is a mount point.
func isMountPoint(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read mountinfo: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if fields := strings.Fields(line); len(fields) >= 5 && unescapeOctal(fields[4]) == dir {
			return true, nil
		}
	}
	return false, nil
}

// unmountUnder unmounts every mount below dir, deepest first.
func unmountUnder(dir string) error {
	points, err := MountPointsUnder(dir)
	if err != nil {
		return err
	}
	for _, mp := range points {
		err := syscall.Unmount(mp, 0)
		if errors.Is(err, syscall.EBUSY) {
			// Still held by a dying container; detach it lazily.
			err = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return nil
}

// unescapeOctal undoes mountinfo's \ooo escapes (spaces, tabs, newlines).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
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
