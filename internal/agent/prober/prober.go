// Package prober runs liveness, readiness and startup probes and lifecycle
// hooks (postStart, preStop) for the node agent.
//
// STUB: the signatures are the contract with internal/agent/pods; the bodies
// are being written.
package prober

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// Options configure a Manager.
type Options struct {
	Runtime  cri.RuntimeService
	Recorder record.EventRecorder
	// OnChange is called (from a probe goroutine) when a result of pod uid
	// changed, so its worker syncs again.
	OnChange func(uid types.UID)
}

// Manager runs one probe worker per (container, probe kind).
type Manager struct{ o Options }

// NewManager returns a Manager.
func NewManager(o Options) *Manager { return &Manager{o: o} }

// Sync tells the manager a pod's current status: probe workers start for
// running containers (keyed by ContainerStatus.ContainerID) and stop for
// containers that are gone. Called by the pod worker after every sync.
func (m *Manager) Sync(pod *corev1.Pod, status *corev1.PodStatus) {}

// Remove stops every worker of pod uid.
func (m *Manager) Remove(uid types.UID) {}

// Ready reports the readiness of a running container: true when it has no
// readiness probe, otherwise the last result (false until the first
// success, and false while its startup probe has not succeeded).
func (m *Manager) Ready(containerID string) bool { return true }

// Started reports whether the container's startup probe succeeded (true
// when it has none).
func (m *Manager) Started(containerID string) bool { return true }

// LivenessFailed reports a container whose liveness (or startup) probe
// failed failureThreshold times, with the message for its Killing event;
// the worker then restarts it per restartPolicy.
func (m *Manager) LivenessFailed(containerID string) (failed bool, message string) { return false, "" }

// RunHandler runs a lifecycle hook handler (exec, httpGet or sleep) for a
// container and returns an error carrying the output on failure.
func RunHandler(ctx context.Context, rt cri.RuntimeService, pod *corev1.Pod, containerID, podIP string, h *corev1.LifecycleHandler) error {
	return errors.New("prober: not implemented")
}
