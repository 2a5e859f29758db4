package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/envvars"
)

// Mounts returns the CRI mounts for container c of pod (after SetUp),
// honouring subPath, subPathExpr, readOnly and mountPropagation.
func (m *Manager) Mounts(pod *corev1.Pod, c *corev1.Container) ([]*runtimeapi.Mount, error) {
	if len(c.VolumeMounts) == 0 {
		return nil, nil
	}
	st := m.podState(pod.UID)
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*runtimeapi.Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		mnt, err := m.mountFor(pod, c, st, vm)
		if err != nil {
			return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, c.Name, err)
		}
		out = append(out, mnt)
	}
	return out, nil
}

// mountFor builds the CRI mount of one volumeMount.
func (m *Manager) mountFor(pod *corev1.Pod, c *corev1.Container, st *podVolumes, vm corev1.VolumeMount) (*runtimeapi.Mount, error) {
	v := findVolume(pod, vm.Name)
	if v == nil {
		return nil, fmt.Errorf("volume %q not found in pod spec", vm.Name)
	}
	base, volReadOnly, err := m.volumePath(pod, st, v)
	if err != nil {
		return nil, err
	}
	sub := vm.SubPath
	if vm.SubPathExpr != "" {
		if sub, err = expandSubPathExpr(vm.SubPathExpr, pod, c); err != nil {
			return nil, err
		}
	}
	host := base
	if sub != "" {
		if host, err = subPathIn(base, sub); err != nil {
			return nil, err
		}
	}
	prop, err := propagation(vm.MountPropagation)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.Mount{
		ContainerPath:  vm.MountPath,
		HostPath:       host,
		Readonly:       vm.ReadOnly || volReadOnly,
		SelinuxRelabel: false,
		Propagation:    prop,
	}, nil
}

func findVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// volumePath is the host path of a set-up volume and whether the volume
// type makes it read-only (the API-data volumes always are).
func (m *Manager) volumePath(pod *corev1.Pod, st *podVolumes, v *corev1.Volume) (string, bool, error) {
	switch {
	case v.EmptyDir != nil:
		return m.VolumeDir(pod.UID, PluginEmptyDir, v.Name), false, nil
	case v.HostPath != nil:
		return v.HostPath.Path, false, nil
	case v.ConfigMap != nil:
		return m.VolumeDir(pod.UID, PluginConfigMap, v.Name), true, nil
	case v.Secret != nil:
		return m.VolumeDir(pod.UID, PluginSecret, v.Name), true, nil
	case v.DownwardAPI != nil:
		return m.VolumeDir(pod.UID, PluginDownwardAPI, v.Name), true, nil
	case v.Projected != nil:
		return m.VolumeDir(pod.UID, PluginProjected, v.Name), true, nil
	case v.PersistentVolumeClaim != nil:
		cp, ok := st.claimed[v.Name]
		if !ok {
			return "", false, fmt.Errorf("persistentVolumeClaim volume %q is not set up", v.Name)
		}
		return cp.path, cp.readOnly, nil
	}
	return "", false, fmt.Errorf("volume %q has an unsupported type", v.Name)
}

// propagation maps mountPropagation to CRI.
func propagation(p *corev1.MountPropagationMode) (runtimeapi.MountPropagation, error) {
	if p == nil {
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	}
	switch *p {
	case corev1.MountPropagationNone:
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	case corev1.MountPropagationHostToContainer:
		return runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, nil
	case corev1.MountPropagationBidirectional:
		return runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL, nil
	}
	return 0, fmt.Errorf("invalid mountPropagation %q", *p)
}

// checkSubPath refuses absolute subpaths and ".." elements.
func checkSubPath(sub string) error {
	if filepath.IsAbs(sub) {
		return fmt.Errorf("subPath %q must be a relative path", sub)
	}
	for _, el := range strings.Split(sub, "/") {
		if el == ".." {
			return fmt.Errorf("subPath %q must not contain '..'", sub)
		}
	}
	return nil
}

// subPathIn returns base/sub, creating missing directories one element at
// a time. A symlink on the way (a container may create them in a writable
// volume) must resolve inside base, so the mount never escapes the volume.
func subPathIn(base, sub string) (string, error) {
	if err := checkSubPath(sub); err != nil {
		return "", err
	}
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", fmt.Errorf("resolve volume path: %w", err)
	}
	cur := realBase
	for _, el := range strings.Split(filepath.Clean(sub), "/") {
		if el == "" || el == "." {
			continue
		}
		next := filepath.Join(cur, el)
		info, err := os.Lstat(next)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(next, 0o750); err != nil {
				return "", fmt.Errorf("create subPath %q: %w", sub, err)
			}
		case err != nil:
			return "", fmt.Errorf("subPath %q: %w", sub, err)
		case info.Mode()&os.ModeSymlink != 0:
			resolved, err := filepath.EvalSymlinks(next)
			if err != nil {
				return "", fmt.Errorf("subPath %q: %w", sub, err)
			}
			if !within(realBase, resolved) {
				return "", fmt.Errorf("subPath %q: path %q is outside of the volume", sub, resolved)
			}
			next = resolved
		}
		cur = next
	}
	return cur, nil
}

// within reports whether path is base or below it.
func within(base, path string) bool {
	return path == base || strings.HasPrefix(path, base+"/")
}

// expandSubPathExpr expands $(VAR) in expr with the container's
// environment: literal values and downward-API fieldRefs. $$ escapes a
// dollar; an unknown variable stays as written. The result obeys the
// subPath rules.
func expandSubPathExpr(expr string, pod *corev1.Pod, c *corev1.Container) (string, error) {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = envvars.Expand(e.Value, lookup(env))
		case e.ValueFrom.FieldRef != nil:
			if v, err := podFieldValue(pod, e.ValueFrom.FieldRef.FieldPath); err == nil {
				env[e.Name] = v
			}
		}
	}
	out := envvars.Expand(expr, lookup(env))
	if err := checkSubPath(out); err != nil {
		return "", fmt.Errorf("subPathExpr %q: %w", expr, err)
	}
	return out, nil
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}
