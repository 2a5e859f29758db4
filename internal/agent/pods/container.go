package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/envvars"
)

// containerKind says where a container comes from in the pod spec.
type containerKind int

const (
	kindApp containerKind = iota
	kindInit
	kindEphemeral
)

// configError is a container that cannot be configured
// (CreateContainerConfigError).
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// containerHash hashes the parts of a container spec whose change requires a
// new container (everything but resources, which can change in place).
func containerHash(c *corev1.Container) string {
	cp := c.DeepCopy()
	cp.Resources = corev1.ResourceRequirements{}
	b, _ := json.Marshal(cp)
	h := fnv.New32a()
	h.Write(b)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// podFullName is how the kubelet names a pod in messages.
func podFullName(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// terminationLogPath is the host file mounted at a container's
// terminationMessagePath.
func (m *Manager) terminationLogPath(pod *corev1.Pod, name string, restartCount int) string {
	return filepath.Join(m.o.Volumes.PodDir(pod.UID), "containers", name, fmt.Sprintf("%d.termination-log", restartCount))
}

// startInfo is what a container's config depends on besides its spec.
type startInfo struct {
	kind         containerKind
	restartCount int
	podIPs       []string
	image        *runtimeapi.Image
	// targetID is an ephemeral container's target's CRI ID.
	targetID string
}

// containerConfig builds the CRI config of container c.
func (m *Manager) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, si startInfo) (*runtimeapi.ContainerConfig, error) {
	env, err := envvars.Resolve(ctx, m.env, pod, c, envvars.Runtime{
		PodIPs: si.podIPs, HostIP: m.o.NodeIP, NodeAllocatable: m.o.NodeAllocatable(),
	})
	if err != nil {
		return nil, &configError{msg: err.Error()}
	}
	for _, warning := range env.Warnings {
		m.event(pod, nil, corev1.EventTypeWarning, envvars.ReasonInvalidNames, warning)
	}
	sc, err := m.containerSecurityContext(pod, c, si)
	if err != nil {
		return nil, err
	}
	mounts, err := m.containerMounts(pod, c, si)
	if err != nil {
		return nil, err
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: uint32(si.restartCount)},
		Image:      &runtimeapi.ImageSpec{Image: si.image.GetId(), UserSpecifiedImage: c.Image},
		Command:    env.Command,
		Args:       env.Args,
		WorkingDir: c.WorkingDir,
		Mounts:     mounts,
		LogPath:    filepath.Join(c.Name, fmt.Sprintf("%d.log", si.restartCount)),
		Stdin:      c.Stdin,
		StdinOnce:  c.StdinOnce,
		Tty:        c.TTY,
		Labels: map[string]string{
			cri.LabelPodName: pod.Name, cri.LabelPodNamespace: pod.Namespace,
			cri.LabelPodUID: string(pod.UID), cri.LabelContainerName: c.Name,
		},
		Annotations: map[string]string{
			cri.AnnotationRestartCount:             strconv.Itoa(si.restartCount),
			cri.AnnotationContainerHash:            containerHash(c),
			cri.AnnotationTerminationMessagePath:   c.TerminationMessagePath,
			cri.AnnotationTerminationMessagePolicy: string(c.TerminationMessagePolicy),
		},
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources:       m.containerResources(pod, c),
			SecurityContext: sc,
		},
	}
	for _, e := range env.Env {
		cfg.Envs = append(cfg.Envs, &runtimeapi.KeyValue{Key: e.Name, Value: e.Value})
	}
	return cfg, nil
}

// containerMounts are the volume mounts plus /etc/hosts and the termination
// message file.
func (m *Manager) containerMounts(pod *corev1.Pod, c *corev1.Container, si startInfo) ([]*runtimeapi.Mount, error) {
	mounts, err := m.o.Volumes.Mounts(pod, c)
	if err != nil {
		return nil, &configError{msg: err.Error()}
	}
	has := func(path string) bool {
		for _, mt := range mounts {
			if mt.GetContainerPath() == path {
				return true
			}
		}
		return false
	}
	if !has("/etc/hosts") {
		hosts, err := m.writeEtcHosts(pod, si.podIPs)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: hosts})
	}
	path := c.TerminationMessagePath
	if path == "" {
		path = corev1.TerminationMessagePathDefault
	}
	if !has(path) {
		host := m.terminationLogPath(pod, c.Name, si.restartCount)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			return nil, fmt.Errorf("termination log dir: %w", err)
		}
		if err := os.WriteFile(host, nil, 0o666); err != nil {
			return nil, fmt.Errorf("termination log: %w", err)
		}
		// WriteFile's mode is filtered by the umask; containers running as
		// any user must be able to write their message.
		if err := os.Chmod(host, 0o666); err != nil {
			return nil, fmt.Errorf("termination log: %w", err)
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: path, HostPath: host})
	}
	return mounts, nil
}

// writeEtcHosts writes the pod's managed /etc/hosts and returns its path.
func (m *Manager) writeEtcHosts(pod *corev1.Pod, podIPs []string) (string, error) {
	var b []byte
	if pod.Spec.HostNetwork {
		host, err := os.ReadFile("/etc/hosts")
		if err != nil && !os.IsNotExist(err) {
			return "", fmt.Errorf("read /etc/hosts: %w", err)
		}
		b = append([]byte("# Kubernetes-managed hosts file (host network).\n"), host...)
	} else {
		b = []byte("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		hostname := podHostname(pod)
		names := hostname
		if pod.Spec.Subdomain != "" {
			names = fmt.Sprintf("%s.%s.%s.svc.%s\t%s", hostname, pod.Spec.Subdomain, pod.Namespace, m.o.ClusterDomain, hostname)
		}
		for _, ip := range podIPs {
			b = append(b, fmt.Sprintf("%s\t%s\n", ip, names)...)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b = append(b, "\n# Entries added by HostAliases.\n"...)
		for _, a := range pod.Spec.HostAliases {
			for _, h := range a.Hostnames {
				b = append(b, fmt.Sprintf("%s\t%s\n", a.IP, h)...)
			}
		}
	}
	path := filepath.Join(m.o.Volumes.PodDir(pod.UID), "etc-hosts")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("write etc-hosts: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return "", fmt.Errorf("write etc-hosts: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write etc-hosts: %w", err)
	}
	return path, nil
}

// containerResources turns requests and limits into cgroup settings.
func (m *Manager) containerResources(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{CpuShares: 2, OomScoreAdj: m.oomScoreAdj(pod, c)}
	cpuReq, hasReq := c.Resources.Requests[corev1.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[corev1.ResourceCPU]
	if !hasReq && hasLim {
		cpuReq, hasReq = cpuLim, true
	}
	if hasReq {
		shares := cpuReq.MilliValue() * 1024 / 1000
		if shares < 2 {
			shares = 2
		}
		r.CpuShares = shares
	}
	if hasLim {
		const period = 100000
		quota := cpuLim.MilliValue() * period / 1000
		if quota < 1000 {
			quota = 1000
		}
		r.CpuPeriod, r.CpuQuota = period, quota
	}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitInBytes = mem.Value()
	}
	return r
}

// oomScoreAdj follows the kubelet's policy, without negative values (the
// runtime may not lower scores below its own).
func (m *Manager) oomScoreAdj(pod *corev1.Pod, c *corev1.Container) int64 {
	switch qosClass(pod) {
	case corev1.PodQOSGuaranteed:
		return 0
	case corev1.PodQOSBestEffort:
		return 1000
	}
	capacity := m.o.NodeAllocatable()[corev1.ResourceMemory]
	req := c.Resources.Requests[corev1.ResourceMemory]
	if capacity.Value() <= 0 {
		return 999
	}
	adj := 1000 - 1000*req.Value()/capacity.Value()
	switch {
	case adj < 2:
		return 2
	case adj > 999:
		return 999
	}
	return adj
}
