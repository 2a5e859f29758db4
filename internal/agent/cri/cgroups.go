package cri

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// cgroup2Magic is CGROUP2_SUPER_MAGIC, statfs's type of a cgroup v2 mount.
const cgroup2Magic = 0x63677270

// crunUnusable says why crun cannot run containers on this machine, or ""
// when it can. crun refuses a hybrid cgroup layout (v1 controllers plus a v2
// mount at /sys/fs/cgroup/unified) when the v2 side has any controller.
func crunUnusable() string {
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &fs); err != nil || fs.Type == cgroup2Magic {
		return ""
	}
	if err := syscall.Statfs("/sys/fs/cgroup/unified", &fs); err != nil || fs.Type != cgroup2Magic {
		return ""
	}
	b, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return ""
	}
	return fmt.Sprintf("crun does not support hybrid cgroups with controllers (%s) on the v2 side", strings.TrimSpace(string(b)))
}
