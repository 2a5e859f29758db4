package volume

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// Permission bits fsGroup adds, as the kubelet's volume ownership: group
// read (and write unless read-only) on everything, group search and setgid
// on directories.
const (
	fsGroupReadOnlyMask  fs.FileMode = 0o440
	fsGroupReadWriteMask fs.FileMode = 0o660
	fsGroupExecMask      fs.FileMode = 0o110
)

// fsGroupOf returns the pod's fsGroup, or nil.
func fsGroupOf(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// onRootMismatch reports whether the pod asks to change ownership only when
// the volume root does not already match.
func onRootMismatch(pod *corev1.Pod) bool {
	sc := pod.Spec.SecurityContext
	return sc != nil && sc.FSGroupChangePolicy != nil && *sc.FSGroupChangePolicy == corev1.FSGroupChangeOnRootMismatch
}

// rootMatches reports whether dir already has group gid, setgid and the
// permission bits applyFSGroup sets.
func rootMatches(dir string, gid int64, readOnly bool) bool {
	info, err := os.Stat(dir)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != gid || info.Mode()&fs.ModeSetgid == 0 {
		return false
	}
	mask := fsGroupReadWriteMask
	if readOnly {
		mask = fsGroupReadOnlyMask
	}
	return info.Mode().Perm()&(mask|fsGroupExecMask) == mask|fsGroupExecMask
}

// applyFSGroup gives everything below root (root included) group gid and
// the fsGroup permission bits. Symlinks are neither followed nor changed.
func applyFSGroup(root string, gid int64, readOnly bool) error {
	mask := fsGroupReadWriteMask
	if readOnly {
		mask = fsGroupReadOnlyMask
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, int(gid)); err != nil {
			return fmt.Errorf("fsGroup: chown %s: %w", path, err)
		}
		mode := info.Mode() | mask
		if d.IsDir() {
			mode |= fsGroupExecMask | fs.ModeSetgid
		}
		if err := os.Chmod(path, mode&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("fsGroup: chmod %s: %w", path, err)
		}
		return nil
	})
}

// setOwnership applies fsGroup to a volume directory, honouring
// fsGroupChangePolicy: OnRootMismatch skips a root that already matches.
func setOwnership(pod *corev1.Pod, dir string, readOnly bool) error {
	gid := fsGroupOf(pod)
	if gid == nil {
		return nil
	}
	if onRootMismatch(pod) && rootMatches(dir, *gid, readOnly) {
		return nil
	}
	return applyFSGroup(dir, *gid, readOnly)
}
