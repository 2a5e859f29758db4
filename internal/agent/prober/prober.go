// Package prober runs liveness, readiness and startup probes and lifecycle
// hooks (postStart, preStop) for the node agent.
//
//	pod worker ──Sync(pod, status)──► Manager ──one goroutine per──► worker
//	    ▲                               │       (container ID, probe kind)
//	    │                               │            │ every periodSeconds:
//	    └──── OnChange(uid) ◄── results ◄────────────┘ exec / httpGet /
//	          Ready / Started / LivenessFailed           tcpSocket / grpc
//
// Workers are keyed by the CRI container ID, so a restarted container gets
// fresh workers and fresh results. The startup probe gates the liveness and
// readiness probes: they do not run until it succeeded.
package prober

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

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
type Manager struct {
	o       Options
	created time.Time
	http    *http.Transport

	// mu guards everything below. Workers take it only briefly, never
	// while probing, and never call OnChange while holding it.
	mu sync.Mutex
	// ctx is the parent of every worker's context; cancelled by Start's
	// context ending, after which Sync starts nothing.
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	workers map[workerKey]*worker
	results map[string]*containerResults // by bare CRI container ID
	wg      sync.WaitGroup               // one per worker goroutine
}

// kind is a probe kind.
type kind int

const (
	startup kind = iota
	liveness
	readiness
)

// String is the kind as upstream events name it ("Liveness probe failed").
func (k kind) String() string {
	switch k {
	case startup:
		return "Startup"
	case liveness:
		return "Liveness"
	default:
		return "Readiness"
	}
}

type workerKey struct {
	containerID string
	kind        kind
}

// containerResults are the current probe results of one container.
type containerResults struct {
	uid        types.UID
	ready      bool
	started    bool
	liveFailed bool
	message    string // for the Killing event, when liveFailed
	// killGrace is the failed probe's terminationGracePeriodSeconds, -1
	// when it has none (the pod's applies).
	killGrace int64
}

// NewManager returns a Manager. Its workers run until Remove, until their
// container is gone from a Sync, or until the context given to Start ends.
func NewManager(o Options) *Manager {
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		o:       o,
		created: time.Now(),
		http:    newProbeTransport(),
		ctx:     ctx,
		cancel:  cancel,
		workers: map[workerKey]*worker{},
		results: map[string]*containerResults{},
	}
}

// Start blocks until ctx ends, then stops every worker, waits for them to
// return and refuses to start new ones. Calling it is optional for a
// Manager whose pods are all Removed.
func (m *Manager) Start(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-m.ctx.Done():
	}
	m.mu.Lock()
	m.stopped = true
	for key, w := range m.workers {
		w.cancel()
		delete(m.workers, key)
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.http.CloseIdleConnections()
	return nil
}

// Sync tells the manager a pod's current status: probe workers start for
// running containers (keyed by ContainerStatus.ContainerID) and stop for
// containers that are gone. Called by the pod worker after every sync.
func (m *Manager) Sync(pod *corev1.Pod, status *corev1.PodStatus) {
	if pod == nil || status == nil {
		return
	}
	want := desiredWorkers(pod, status)
	podIP := status.PodIP
	if podIP == "" && len(status.PodIPs) > 0 {
		podIP = status.PodIPs[0].IP
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	for key, w := range m.workers {
		if w.uid != pod.UID {
			continue
		}
		if _, ok := want[key]; !ok {
			w.cancel()
			delete(m.workers, key)
			delete(m.results, key.containerID)
			continue
		}
		w.setPod(pod, podIP)
	}
	for key, spec := range want {
		if _, ok := m.workers[key]; ok {
			continue
		}
		if _, ok := m.results[key.containerID]; !ok {
			m.results[key.containerID] = initialResults(pod.UID, spec.container)
		}
		w := newWorker(m, key, pod, podIP, spec)
		m.workers[key] = w
		m.wg.Add(1)
		go w.run()
	}
}

// workerSpec is what a new worker needs to know about its container.
type workerSpec struct {
	container *corev1.Container
	init      bool // a restartable init container (sidecar)
	probe     *corev1.Probe
	startedAt time.Time
}

// desiredWorkers lists a worker per probe of every running container
// (regular containers and restartable init containers).
func desiredWorkers(pod *corev1.Pod, status *corev1.PodStatus) map[workerKey]workerSpec {
	want := map[workerKey]workerSpec{}
	add := func(statuses []corev1.ContainerStatus, specs []corev1.Container, init bool) {
		for i := range statuses {
			cs := &statuses[i]
			id := bareID(cs.ContainerID)
			if id == "" || cs.State.Running == nil {
				continue
			}
			c := findContainer(specs, cs.Name)
			if c == nil || (init && !isSidecar(c)) {
				continue
			}
			started := cs.State.Running.StartedAt.Time
			for k, p := range map[kind]*corev1.Probe{startup: c.StartupProbe, liveness: c.LivenessProbe, readiness: c.ReadinessProbe} {
				if p != nil {
					want[workerKey{id, k}] = workerSpec{container: c, init: init, probe: p, startedAt: started}
				}
			}
		}
	}
	add(status.ContainerStatuses, pod.Spec.Containers, false)
	add(status.InitContainerStatuses, pod.Spec.InitContainers, true)
	return want
}

func initialResults(uid types.UID, c *corev1.Container) *containerResults {
	return &containerResults{
		uid:       uid,
		ready:     c.ReadinessProbe == nil,
		started:   c.StartupProbe == nil,
		killGrace: -1,
	}
}

func findContainer(specs []corev1.Container, name string) *corev1.Container {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// bareID strips the runtime prefix ("containerd://") off a container ID.
func bareID(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// Remove stops every worker of pod uid.
func (m *Manager) Remove(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		if w.uid == uid {
			w.cancel()
			delete(m.workers, key)
			delete(m.results, key.containerID)
		}
	}
	for id, r := range m.results {
		if r.uid == uid {
			delete(m.results, id)
		}
	}
}

// Ready reports the readiness of a running container: true when it has no
// readiness probe, otherwise the last result (false until the first
// success, and false while its startup probe has not succeeded). A
// container the manager has not seen in a Sync counts as having no probes.
func (m *Manager) Ready(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[bareID(containerID)]
	return !ok || (r.ready && r.started)
}

// Started reports whether the container's startup probe succeeded (true
// when it has none).
func (m *Manager) Started(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[bareID(containerID)]
	return !ok || r.started
}

// LivenessFailed reports a container whose liveness (or startup) probe
// failed failureThreshold times, with the message for its Killing event;
// the worker then restarts it per restartPolicy.
func (m *Manager) LivenessFailed(containerID string) (failed bool, message string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[bareID(containerID)]
	if !ok || !r.liveFailed {
		return false, ""
	}
	return true, r.message
}

// KillGracePeriod is the grace period, in seconds, for killing a container
// whose liveness or startup probe failed: the failed probe's
// terminationGracePeriodSeconds when set, else the pod's
// (spec.terminationGracePeriodSeconds, 30 when unset).
func (m *Manager) KillGracePeriod(pod *corev1.Pod, containerID string) int64 {
	m.mu.Lock()
	r, ok := m.results[bareID(containerID)]
	probeGrace := int64(-1)
	if ok && r.liveFailed {
		probeGrace = r.killGrace
	}
	m.mu.Unlock()
	if probeGrace >= 0 {
		return probeGrace
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// update changes a container's results under the lock and reports whether
// anything changed; the caller then calls OnChange without the lock.
func (m *Manager) update(containerID string, change func(r *containerResults)) (types.UID, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[containerID]
	if !ok {
		return "", false
	}
	before := *r
	change(r)
	return r.uid, before != *r
}
