package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// machineInfo is what the agent reads about its machine once at start.
type machineInfo struct {
	kernel, osImage, arch   string
	machineID, bootID       string
	cpus                    int
	memoryBytes             int64
	diskBytes, diskFreeByte int64
}

// readMachine reads the kernel, OS, CPU, memory and the data dir's disk.
func readMachine(dataDir string) (machineInfo, error) {
	m := machineInfo{arch: runtime.GOARCH, cpus: runtime.NumCPU()}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.kernel = unix.ByteSliceToString(u.Release[:])
	}
	m.osImage = osPrettyName()
	m.machineID = strings.TrimSpace(readFileString("/etc/machine-id"))
	m.bootID = strings.TrimSpace(readFileString("/proc/sys/kernel/random/boot_id"))
	mem, err := meminfo()
	if err != nil {
		return m, err
	}
	m.memoryBytes = mem["MemTotal"]
	total, free, err := diskUsage(dataDir)
	if err != nil {
		return m, err
	}
	m.diskBytes, m.diskFreeByte = total, free
	return m, nil
}

func readFileString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// osPrettyName is PRETTY_NAME from os-release, like the kubelet's osImage.
func osPrettyName() string {
	for _, line := range strings.Split(readFileString("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "Linux"
}

// meminfo returns /proc/meminfo in bytes.
func meminfo() (map[string]int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("read meminfo: %w", err)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		out[name] = v
	}
	return out, nil
}

// diskUsage returns the size and the space available to users of the
// filesystem holding path.
func diskUsage(path string) (total, avail int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// pidUsage returns the number of processes and the kernel's limit.
func pidUsage() (running, max int64) {
	max, _ = strconv.ParseInt(strings.TrimSpace(readFileString("/proc/sys/kernel/pid_max")), 10, 64)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			running++
		}
	}
	return running, max
}

// capacity is the node's status.capacity.
func (m machineInfo) capacity(maxPods int) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(m.cpus), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(m.memoryBytes, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(m.diskBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.BinarySI),
		"hugepages-1Gi":                 *resource.NewQuantity(0, resource.BinarySI),
	}
}

// defaultNodeIP picks the address of the interface holding the default
// route, or else the first global unicast address.
func defaultNodeIP() (string, error) {
	// A UDP "connection" sends nothing; it only asks the kernel for the
	// source address it would route through.
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsLoopback() {
			return a.IP.String(), nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String(), nil
		}
	}
	return "127.0.0.1", nil
}
