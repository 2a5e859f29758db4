package prober

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Probe defaults, as the API documents them.
const (
	defaultPeriod           = 10 * time.Second
	defaultTimeout          = time.Second
	defaultFailureThreshold = 3
)

// worker probes one container with one probe kind every periodSeconds.
type worker struct {
	m      *Manager
	key    workerKey
	uid    types.UID
	spec   workerSpec
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards pod and podIP, which Sync refreshes.
	mu    sync.Mutex
	pod   *corev1.Pod
	podIP string

	// Owned by the run goroutine.
	last   outcome
	runLen int  // consecutive probes with outcome last
	onHold bool // liveness/startup failed: wait for a new container
}

// outcome is one probe's verdict.
type outcome int

const (
	unknown outcome = iota
	success
	failure
)

func newWorker(m *Manager, key workerKey, pod *corev1.Pod, podIP string, spec workerSpec) *worker {
	ctx, cancel := context.WithCancel(m.ctx)
	return &worker{m: m, key: key, uid: pod.UID, spec: spec, ctx: ctx, cancel: cancel, pod: pod, podIP: podIP}
}

func (w *worker) setPod(pod *corev1.Pod, podIP string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pod, w.podIP = pod, podIP
}

func (w *worker) snapshot() (*corev1.Pod, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.podIP
}

// run probes until the worker's context ends. Right after the manager
// started (an agent restart), the first probe waits a random part of the
// period, so the probes of many containers do not all fire at once.
func (w *worker) run() {
	defer w.m.wg.Done()
	defer w.cancel()
	period := seconds(w.spec.probe.PeriodSeconds, defaultPeriod)
	if time.Since(w.m.created) < period {
		if !sleep(w.ctx, rand.N(period)) {
			return
		}
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		w.probeOnce()
		select {
		case <-w.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// probeOnce runs the probe if it is due and records its result once the
// success or failure threshold is reached.
func (w *worker) probeOnce() {
	p := w.spec.probe
	id := w.key.containerID
	if w.onHold || time.Since(w.spec.startedAt) < time.Duration(p.InitialDelaySeconds)*time.Second {
		return
	}
	started := w.m.Started(id)
	if (w.key.kind == startup) == started {
		// A startup probe is done once it succeeded; the others wait for it.
		return
	}
	pod, podIP := w.snapshot()
	res := w.m.probe(w.ctx, w.key.kind, pod, podIP, id, w.spec)
	if w.ctx.Err() != nil {
		return
	}
	if res == w.last {
		w.runLen++
	} else {
		w.last, w.runLen = res, 1
	}
	threshold := 1 // liveness and startup probes need one success
	switch {
	case res == failure:
		threshold = int(p.FailureThreshold)
		if threshold <= 0 {
			threshold = defaultFailureThreshold
		}
	case w.key.kind == readiness && p.SuccessThreshold > 1:
		threshold = int(p.SuccessThreshold)
	}
	if w.runLen < threshold {
		return
	}
	uid, changed := w.m.update(id, func(r *containerResults) { w.apply(r, res) })
	if res == failure && w.key.kind != readiness {
		// The container will be killed; probing it again would only add
		// noise. Its replacement has a new ID and new workers.
		w.onHold = true
	}
	if changed && w.m.o.OnChange != nil {
		w.m.o.OnChange(uid)
	}
}

// apply records outcome res in a container's results.
func (w *worker) apply(r *containerResults, res outcome) {
	switch w.key.kind {
	case readiness:
		r.ready = res == success
	case startup:
		if res == success {
			r.started = true
			return
		}
		fallthrough
	case liveness:
		if res == failure && !r.liveFailed {
			r.liveFailed = true
			r.message = fmt.Sprintf("Container %s failed %s probe, will be restarted", w.spec.container.Name, kindWord(w.key.kind))
			r.killGrace = -1
			if g := w.spec.probe.TerminationGracePeriodSeconds; g != nil {
				r.killGrace = *g
			}
		}
	}
}

func kindWord(k kind) string {
	if k == startup {
		return "startup"
	}
	return "liveness"
}

// seconds converts an API seconds field, using def when it is unset.
func seconds(v int32, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return time.Duration(v) * time.Second
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxAttempts is how often a probe that errored (could not run) is tried
// again before it counts as a failure.
const maxAttempts = 3

// probe runs a worker's probe once and records the events users see:
// Unhealthy for a failure or error, ProbeWarning for a warning.
func (m *Manager) probe(ctx context.Context, k kind, pod *corev1.Pod, podIP, containerID string, spec workerSpec) outcome {
	timeout := seconds(spec.probe.TimeoutSeconds, defaultTimeout)
	var (
		v   verdict
		out string
		err error
	)
	for range maxAttempts {
		v, out, err = m.runProbe(ctx, &spec.probe.ProbeHandler, spec.container, podIP, containerID, timeout)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return unknown
	}
	switch {
	case err != nil:
		m.event(pod, spec, "Unhealthy", fmt.Sprintf("%s probe errored and resulted in unknown state: %v", k, err))
		return failure
	case v == failed:
		m.event(pod, spec, "Unhealthy", fmt.Sprintf("%s probe failed: %s", k, out))
		return failure
	case v == warned:
		m.event(pod, spec, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", k, out))
	}
	return success
}

// event records a Warning event on the pod, naming the container in the
// reference's fieldPath as the kubelet does.
func (m *Manager) event(pod *corev1.Pod, spec workerSpec, reason, message string) {
	if m.o.Recorder == nil {
		return
	}
	m.o.Recorder.Event(ContainerRef(pod, spec.container.Name, spec.init), corev1.EventTypeWarning, reason, message)
}

// ContainerRef is the object reference events about a container of pod
// carry: the pod, with fieldPath spec.containers{name} (or
// spec.initContainers{name}).
func ContainerRef(pod *corev1.Pod, container string, init bool) *corev1.ObjectReference {
	field := "spec.containers{" + container + "}"
	if init {
		field = "spec.initContainers{" + container + "}"
	}
	return &corev1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
		FieldPath:       field,
	}
}
