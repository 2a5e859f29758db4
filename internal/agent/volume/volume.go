// Package volume prepares a pod's volumes on the node: emptyDir, hostPath,
// configMap, secret, downwardAPI, projected and persistentVolumeClaim, and
// turns a container's volumeMounts into CRI mounts.
//
// STUB: the signatures are the contract with internal/agent/pods; the bodies
// are being written.
package volume

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Options configure a Manager.
type Options struct {
	// Root is the directory holding one directory per pod UID
	// (DIR/agent/pods).
	Root string
	// Client reads ConfigMaps, Secrets, PVCs, PVs and requests
	// service-account tokens.
	Client kubernetes.Interface
	// NodeName is this node's name.
	NodeName string
}

// Manager sets up and tears down pod volumes. Safe for concurrent use by
// different pods.
type Manager struct{ o Options }

// NewManager returns a Manager.
func NewManager(o Options) *Manager { return &Manager{o: o} }

// PodDir is the directory of pod uid (Root/<uid>); the pod worker keeps
// per-pod files there too (etc-hosts, termination logs).
func (m *Manager) PodDir(uid types.UID) string { return m.o.Root + "/" + string(uid) }

// SetUp makes every volume of pod ready. It is idempotent and is called on
// every sync of the pod: configMap, secret, downwardAPI and projected volumes
// are refreshed (atomically) when their sources changed. An error names the
// volume and the missing source, like the kubelet's FailedMount event.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod) error {
	if len(pod.Spec.Volumes) == 0 {
		return nil
	}
	return errors.New("volume: not implemented")
}

// Mounts returns the CRI mounts for container c of pod (after SetUp),
// honouring subPath, subPathExpr, readOnly and mountPropagation.
func (m *Manager) Mounts(pod *corev1.Pod, c *corev1.Container) ([]*runtimeapi.Mount, error) {
	if len(c.VolumeMounts) == 0 {
		return nil, nil
	}
	return nil, errors.New("volume: not implemented")
}

// TearDown unmounts and removes every volume of pod uid, then its directory.
func (m *Manager) TearDown(ctx context.Context, uid types.UID) error {
	return nil
}

// PodUIDs lists the pods that have a directory under Root, for cleaning
// up orphans after a restart.
func (m *Manager) PodUIDs() ([]types.UID, error) { return nil, nil }
