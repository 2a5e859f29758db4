package pods

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// defaultMaskedPaths are the paths the kubelet masks inside containers.
func defaultMaskedPaths() []string {
	return []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
}

// defaultReadonlyPaths are the paths the kubelet makes read-only.
func defaultReadonlyPaths() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

// effectiveSecurity merges the pod's security context into the
// container's (the container's settings win).
func effectiveSecurity(pod *corev1.Pod, c *corev1.Container) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if c.SecurityContext != nil {
		sc = c.SecurityContext.DeepCopy()
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if sc.RunAsUser == nil {
			sc.RunAsUser = psc.RunAsUser
		}
		if sc.RunAsGroup == nil {
			sc.RunAsGroup = psc.RunAsGroup
		}
		if sc.RunAsNonRoot == nil {
			sc.RunAsNonRoot = psc.RunAsNonRoot
		}
		if sc.SeccompProfile == nil {
			sc.SeccompProfile = psc.SeccompProfile
		}
	}
	return sc
}

// containerSecurityContext is c's CRI security context; it refuses
// runAsNonRoot containers that would run as root.
func (m *Manager) containerSecurityContext(pod *corev1.Pod, c *corev1.Container, si startInfo) (*runtimeapi.LinuxContainerSecurityContext, error) {
	sc := effectiveSecurity(pod, c)
	if err := verifyNonRoot(pod, c, sc, si.image); err != nil {
		return nil, err
	}
	out := &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions: namespaceOptions(pod),
		Seccomp:          m.seccompProfile(nil, sc.SeccompProfile),
	}
	if si.kind == kindEphemeral && si.targetID != "" {
		out.NamespaceOptions.Pid = runtimeapi.NamespaceMode_TARGET
		out.NamespaceOptions.TargetId = si.targetID
	}
	if sc.RunAsUser != nil {
		out.RunAsUser = &runtimeapi.Int64Value{Value: *sc.RunAsUser}
	}
	if sc.RunAsGroup != nil {
		out.RunAsGroup = &runtimeapi.Int64Value{Value: *sc.RunAsGroup}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		out.SupplementalGroups = supplementalGroups(psc)
	}
	privileged := sc.Privileged != nil && *sc.Privileged
	out.Privileged = privileged
	if sc.Capabilities != nil {
		out.Capabilities = &runtimeapi.Capability{}
		for _, cp := range sc.Capabilities.Add {
			out.Capabilities.AddCapabilities = append(out.Capabilities.AddCapabilities, string(cp))
		}
		for _, cp := range sc.Capabilities.Drop {
			out.Capabilities.DropCapabilities = append(out.Capabilities.DropCapabilities, string(cp))
		}
	}
	out.NoNewPrivs = !privileged && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	out.ReadonlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	unmasked := sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount
	if !privileged && !unmasked {
		out.MaskedPaths, out.ReadonlyPaths = defaultMaskedPaths(), defaultReadonlyPaths()
	}
	return out, nil
}

// verifyNonRoot refuses a runAsNonRoot container that would run as root,
// with the kubelet's messages.
func verifyNonRoot(pod *corev1.Pod, c *corev1.Container, sc *corev1.SecurityContext, img *runtimeapi.Image) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return &configError{msg: fmt.Sprintf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", podFullName(pod), c.Name)}
		}
		return nil
	}
	switch {
	case img.GetUid() != nil:
		if img.GetUid().GetValue() == 0 {
			return &configError{msg: fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podFullName(pod), c.Name)}
		}
	case img.GetUsername() != "":
		if uid, err := strconv.ParseInt(img.GetUsername(), 10, 64); err != nil || uid == 0 {
			if err != nil {
				return &configError{msg: fmt.Sprintf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", img.GetUsername(), podFullName(pod), c.Name)}
			}
			return &configError{msg: fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podFullName(pod), c.Name)}
		}
	default:
		return &configError{msg: fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podFullName(pod), c.Name)}
	}
	return nil
}
