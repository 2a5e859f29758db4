// Package volume prepares a pod's volumes on the node: emptyDir, hostPath,
// configMap, secret, downwardAPI, projected and persistentVolumeClaim, and
// turns a container's volumeMounts into CRI mounts.
//
//	Root/<podUID>/volumes/<plugin>/<volumeName>
//	   kubernetes.io~empty-dir    a directory, or a tmpfs for medium Memory
//	   kubernetes.io~configmap    ┐
//	   kubernetes.io~secret       │ written by the atomic writer (atomic.go):
//	   kubernetes.io~downward-api │ key -> ..data/key, ..data -> ..<timestamp>
//	   kubernetes.io~projected    ┘ refreshed on every SetUp
//	hostPath and PVC volumes (hostPath or local PVs) are used in place.
//
// SetUp runs on every sync of a pod; Mounts turns volumeMounts into CRI
// mounts; TearDown unmounts and removes everything of a pod.
package volume

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiffhq/skiff/internal/agent/objcache"
	"os"
	"path/filepath"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Plugin directory names under Root/<uid>/volumes, as the kubelet's.
const (
	PluginEmptyDir    = "kubernetes.io~empty-dir"
	PluginConfigMap   = "kubernetes.io~configmap"
	PluginSecret      = "kubernetes.io~secret"
	PluginDownwardAPI = "kubernetes.io~downward-api"
	PluginProjected   = "kubernetes.io~projected"
)

// Options configure a Manager.
type Options struct {
	// Root is the directory holding one directory per pod UID
	// (DIR/agent/pods).
	Root string
	// Client reads PVCs and PVs and requests service-account tokens.
	Client kubernetes.Interface
	// Objects reads the ConfigMaps and Secrets volumes project (an
	// objcache.Cache in the agent); nil reads them with Client, a request
	// per read.
	Objects Objects
	// NodeName is this node's name.
	NodeName string
	// NodeAllocatable returns the node's allocatable resources; the
	// downward API reports them for a container without limits. Nil
	// leaves such limits out (an error for the volume item).
	NodeAllocatable func() corev1.ResourceList
}

// Objects reads ConfigMaps and Secrets; a missing one is the API's
// NotFound error. The objects returned are not modified.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// Manager sets up and tears down pod volumes. Safe for concurrent use by
// different pods; calls for one pod are serialised.
type Manager struct {
	o      Options
	tokens *tokenCache

	// mu guards pods; it is never held while a pod's lock is taken.
	mu   sync.Mutex
	pods map[types.UID]*podVolumes
}

// podVolumes is what SetUp found out about one pod's volumes.
type podVolumes struct {
	// mu serialises SetUp, Mounts and TearDown of the pod and guards
	// claimed.
	mu sync.Mutex
	// claimed maps a persistentVolumeClaim volume to its resolved path.
	claimed map[string]claimedPath
}

// claimedPath is the host path a PVC volume resolved to.
type claimedPath struct {
	path     string
	readOnly bool
}

// NewManager returns a Manager.
func NewManager(o Options) *Manager {
	if o.Objects == nil {
		o.Objects = objcache.Direct{Client: o.Client}
	}
	return &Manager{o: o, tokens: newTokenCache(), pods: map[types.UID]*podVolumes{}}
}

// PodDir is the directory of pod uid (Root/<uid>); the pod worker keeps
// per-pod files there too (etc-hosts, termination logs).
func (m *Manager) PodDir(uid types.UID) string { return filepath.Join(m.o.Root, string(uid)) }

// VolumeDir is where volume name of plugin lives for pod uid:
// PodDir/volumes/<plugin>/<name>.
func (m *Manager) VolumeDir(uid types.UID, plugin, name string) string {
	return filepath.Join(m.PodDir(uid), "volumes", plugin, name)
}

func (m *Manager) podState(uid types.UID) *podVolumes {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[uid]
	if p == nil {
		p = &podVolumes{claimed: map[string]claimedPath{}}
		m.pods[uid] = p
	}
	return p
}

// SetUp makes every volume of pod ready. It is idempotent and is called on
// every sync of the pod: configMap, secret, downwardAPI and projected volumes
// are refreshed (atomically) when their sources changed. An error names the
// volume and the missing source, like the kubelet's FailedMount event.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod) error {
	if len(pod.Spec.Volumes) == 0 {
		return nil
	}
	st := m.podState(pod.UID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(m.PodDir(pod.UID), "volumes"), 0o750); err != nil {
		return fmt.Errorf("create pod volumes dir: %w", err)
	}
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := m.setUpVolume(ctx, pod, st, v); err != nil {
			errs = append(errs, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// setUpVolume prepares one volume.
func (m *Manager) setUpVolume(ctx context.Context, pod *corev1.Pod, st *podVolumes, v *corev1.Volume) error {
	switch {
	case v.EmptyDir != nil:
		return m.setUpEmptyDir(pod, v.Name, v.EmptyDir)
	case v.HostPath != nil:
		return checkHostPathType(v.HostPath.Path, v.HostPath.Type)
	case v.ConfigMap != nil:
		p, err := m.configMapPayload(ctx, pod.Namespace, v.ConfigMap)
		return m.writeAtomic(pod, PluginConfigMap, v.Name, p, err)
	case v.Secret != nil:
		p, err := m.secretPayload(ctx, pod.Namespace, v.Secret)
		return m.writeAtomic(pod, PluginSecret, v.Name, p, err)
	case v.DownwardAPI != nil:
		p, err := m.downwardAPIPayload(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode))
		return m.writeAtomic(pod, PluginDownwardAPI, v.Name, p, err)
	case v.Projected != nil:
		p, err := m.projectedPayload(ctx, pod, v.Projected)
		return m.writeAtomic(pod, PluginProjected, v.Name, p, err)
	case v.PersistentVolumeClaim != nil:
		cp, err := m.resolveClaim(ctx, pod.Namespace, v.PersistentVolumeClaim)
		if err != nil {
			return err
		}
		st.claimed[v.Name] = cp
		return nil
	}
	return fmt.Errorf("unsupported volume type (skiff supports emptyDir, hostPath, configMap, secret, downwardAPI, projected and persistentVolumeClaim)")
}

// writeAtomic writes a payload built by one of the sources (unless
// building it failed) into the volume's directory.
func (m *Manager) writeAtomic(pod *corev1.Pod, plugin, name string, p payload, buildErr error) error {
	if buildErr != nil {
		return buildErr
	}
	dir := m.VolumeDir(pod.UID, plugin, name)
	if _, err := writePayload(dir, p, fsGroupOf(pod)); err != nil {
		return err
	}
	return setOwnership(pod, dir, true)
}

// TearDown unmounts and removes every volume of pod uid, then its directory.
func (m *Manager) TearDown(ctx context.Context, uid types.UID) error {
	st := m.podState(uid)
	st.mu.Lock()
	defer st.mu.Unlock()
	dir := m.PodDir(uid)
	if err := unmountUnder(dir); err != nil {
		return err
	}
	// Never remove through a mount that is still there (a tmpfs would be
	// emptied, a bind mount would lose host data).
	if left, err := MountPointsUnder(dir); err != nil {
		return err
	} else if len(left) > 0 {
		return fmt.Errorf("tear down pod %s: %s is still mounted", uid, left[0])
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod dir: %w", err)
	}
	m.tokens.forget(uid)
	m.mu.Lock()
	delete(m.pods, uid)
	m.mu.Unlock()
	return nil
}

// PodUIDs lists the pods that have a directory under Root, for cleaning
// up orphans after a restart.
func (m *Manager) PodUIDs() ([]types.UID, error) {
	entries, err := os.ReadDir(m.o.Root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pod dirs: %w", err)
	}
	var out []types.UID
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, types.UID(e.Name()))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// modeOr returns *m, or def when m is nil.
func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}
