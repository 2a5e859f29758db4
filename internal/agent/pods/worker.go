package pods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/prober"
)

// Waiting reasons the worker sets, the kubelet's.
const (
	reasonContainerCreating    = "ContainerCreating"
	reasonPodInitializing      = "PodInitializing"
	reasonCrashLoopBackOff     = "CrashLoopBackOff"
	reasonCreateConfigError    = "CreateContainerConfigError"
	reasonCreateContainerError = "CreateContainerError"
	reasonRunContainerError    = "RunContainerError"
	reasonPostStartHookError   = "PostStartHookError"
)

// podWorker runs one pod. Its goroutine is the only one that touches the
// fields below wakeCh, so they need no lock.
type podWorker struct {
	m               *Manager
	uid             types.UID
	namespace, name string
	// wakeCh (capacity one) asks for a sync.
	wakeCh chan struct{}

	lastPod *corev1.Pod
	backoff *backoff
	// waiting says why a container is not running when the runtime cannot
	// (image pull errors, config errors, back-off), by container name.
	waiting map[string]*corev1.ContainerStateWaiting
	// forceRestart names containers killed for a changed spec, restarted
	// whatever the restart policy.
	forceRestart map[string]bool
	// terminal is set once the pod reached Succeeded or Failed: nothing of
	// it starts again.
	terminal bool
	// rejected is the status of a pod the node refused to run.
	rejected *corev1.PodStatus
	// terminatingSince is when graceful termination began.
	terminatingSince time.Time
	// nextSync is the delay before the next sync without a wake-up.
	nextSync time.Duration
}

func newPodWorker(m *Manager, pod *corev1.Pod) *podWorker {
	return &podWorker{
		m: m, uid: pod.UID, namespace: pod.Namespace, name: pod.Name,
		wakeCh:       make(chan struct{}, 1),
		lastPod:      pod,
		backoff:      newBackoff(),
		waiting:      map[string]*corev1.ContainerStateWaiting{},
		forceRestart: map[string]bool{},
	}
}

// wake asks the worker to sync soon; it never blocks.
func (w *podWorker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// wakeIn makes the next sync happen within d.
func (w *podWorker) wakeIn(d time.Duration) {
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	if d < w.nextSync {
		w.nextSync = d
	}
}

// run syncs the pod until it is gone or ctx ends.
func (w *podWorker) run(ctx context.Context) {
	timer := time.NewTimer(resyncInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-timer.C:
		}
		if w.sync(ctx) {
			w.m.workerDone(w)
			return
		}
		timer.Reset(w.nextSync)
	}
}

// sync converges the pod once; it reports true when the pod is finished
// with (deleted, everything cleaned up).
func (w *podWorker) sync(ctx context.Context) bool {
	w.nextSync = resyncInterval
	pod := w.m.podByUID(w.namespace, w.name, w.uid)
	if pod == nil {
		// Gone from the API without us seeing its deletion (force delete).
		return w.cleanup(ctx, w.lastPod, gracePeriod(w.lastPod))
	}
	w.lastPod = pod
	if pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod)
	}
	if isTerminal(pod.Status.Phase) {
		w.terminal = true
	}
	state, err := observe(ctx, w.m.o.Runtime, w.uid)
	if err != nil {
		w.m.log.Warn("observe pod", "pod", w.namespace+"/"+w.name, "err", err)
		w.wakeIn(time.Second)
		return false
	}
	if w.rejected != nil {
		if !isTerminal(pod.Status.Phase) {
			w.m.setStatus(pod, *w.rejected)
		}
		return false
	}
	if !w.terminal {
		if reason, msg := w.m.admit(ctx, pod, len(state.sandboxes) > 0 || len(state.records) > 0); reason != "" {
			w.reject(pod, reason, msg)
			return false
		}
	}
	if !w.terminal && !isTerminal(w.phase(pod, state)) {
		if w.converge(ctx, pod, state) {
			if state, err = observe(ctx, w.m.o.Runtime, w.uid); err != nil {
				w.wakeIn(time.Second)
				return false
			}
		}
	}
	// The prober learns of new containers first, so a container with a
	// readiness probe is not reported ready before its first probe.
	w.m.probes.Sync(pod, ptrTo(w.podStatus(pod, state)))
	status := w.podStatus(pod, state)
	if isTerminal(pod.Status.Phase) {
		// Reported finished (perhaps by an agent that stopped right after):
		// nothing may keep running.
		w.stopSandboxes(ctx, state)
	} else if isTerminal(status.Phase) {
		// Done: sidecars and the sandbox stop, and the final status shows
		// them stopped.
		w.terminal = true
		if w.stopSandboxes(ctx, state) {
			if state, err = observe(ctx, w.m.o.Runtime, w.uid); err != nil {
				w.wakeIn(time.Second)
				return false
			}
			status = w.podStatusTerminal(pod, state, true)
		}
	}
	if !isTerminal(pod.Status.Phase) {
		w.m.setStatus(pod, status)
	}
	w.m.probes.Sync(pod, &status)
	w.gc(ctx, state)
	return false
}

func isTerminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}

// converge starts what should run; it reports whether it changed anything
// in the runtime.
func (w *podWorker) converge(ctx context.Context, pod *corev1.Pod, state *podState) bool {
	if err := w.m.o.Volumes.SetUp(ctx, pod); err != nil {
		w.m.event(pod, nil, corev1.EventTypeWarning, "FailedMount", err.Error())
		w.wakeIn(2 * time.Second)
		return false
	}
	changed := false
	if state.sandbox == nil {
		if pod.Spec.RestartPolicy == corev1.RestartPolicyNever && len(state.records) > 0 {
			return false // its containers ran once; they are not run again
		}
		if err := w.createSandbox(ctx, pod, state); err != nil {
			w.m.event(pod, nil, corev1.EventTypeWarning, "FailedCreatePodSandBox", fmt.Sprintf("Failed to create pod sandbox: %v", err))
			w.wakeIn(5 * time.Second)
			return true
		}
		var err error
		if state, err = observe(ctx, w.m.o.Runtime, w.uid); err != nil || state.sandbox == nil {
			w.wakeIn(time.Second)
			return true
		}
		changed = true
	}
	if w.killUnwanted(ctx, pod, state) {
		var err error
		if state, err = observe(ctx, w.m.o.Runtime, w.uid); err != nil {
			w.wakeIn(time.Second)
			return true
		}
		changed = true
	}
	if w.runInit(ctx, pod, state) {
		changed = true
	} else if w.initDone(pod, state) {
		changed = w.runApps(ctx, pod, state) || changed
	}
	return w.runEphemeral(ctx, pod, state) || changed
}

// createSandbox stops the pod's old sandboxes and runs a new one.
func (w *podWorker) createSandbox(ctx context.Context, pod *corev1.Pod, state *podState) error {
	var attempt uint32
	if len(state.sandboxes) > 0 {
		attempt = state.sandboxes[0].GetMetadata().GetAttempt() + 1
		w.m.event(pod, nil, corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
	}
	for _, s := range state.sandboxes {
		if s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			if err := w.m.o.Runtime.StopPodSandbox(ctx, s.GetId()); err != nil {
				return err
			}
		}
	}
	cfg, err := w.m.sandboxConfig(pod, attempt)
	if err != nil {
		return err
	}
	handler, err := w.m.runtimeHandler(ctx, pod)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.GetLogDirectory(), 0o755); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	_, err = w.m.o.Runtime.RunPodSandbox(ctx, cfg, handler)
	return err
}

// killUnwanted stops running containers whose spec changed or whose
// liveness probe failed, and containers the spec does not name.
func (w *podWorker) killUnwanted(ctx context.Context, pod *corev1.Pod, state *podState) bool {
	killed := false
	for name, rs := range state.records {
		r := rs[0]
		if !r.running() {
			continue
		}
		c, kind := findContainer(pod, name)
		var msg string
		switch {
		case c == nil:
			msg = fmt.Sprintf("Container %s is not in the pod spec, will be stopped", name)
		case kind != kindEphemeral && r.hash != "" && r.hash != containerHash(c):
			msg = fmt.Sprintf("Container %s definition changed, will be restarted", name)
			w.forceRestart[name] = true
		default:
			if failed, m := w.m.probes.LivenessFailed(r.id); failed {
				msg = m
				if msg == "" {
					msg = fmt.Sprintf("Container %s failed liveness probe, will be restarted", name)
				}
			}
		}
		if msg == "" {
			continue
		}
		if c != nil {
			w.m.event(pod, c, corev1.EventTypeNormal, "Killing", msg)
		}
		grace := time.Duration(w.m.probes.KillGracePeriod(pod, r.id)) * time.Second
		if err := w.m.o.Runtime.StopContainer(ctx, r.id, grace); err != nil {
			w.m.log.Warn("stop container", "pod", w.namespace+"/"+w.name, "container", name, "err", err)
		}
		killed = true
	}
	return killed
}

// findContainer finds a container of any kind by name; ephemeral ones are
// returned as a Container.
func findContainer(pod *corev1.Pod, name string) (*corev1.Container, containerKind) {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], kindApp
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i], kindInit
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			return &c, kindEphemeral
		}
	}
	return nil, kindApp
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// runInit advances the init containers: it starts the first one that has
// not completed (or a sidecar that is not running). It reports whether it
// started something.
func (w *podWorker) runInit(ctx context.Context, pod *corev1.Pod, state *podState) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := state.currentInSandbox(c.Name)
		if isSidecar(c) {
			if r != nil && r.running() {
				if !w.m.probes.Started(r.id) {
					return false // the next init container waits for it
				}
				continue
			}
			started := w.startOrBackoff(ctx, pod, c, kindInit, state, state.current(c.Name))
			if r == nil {
				return started // first start: wait until it is started
			}
			continue // a restart does not hold up what already runs
		}
		switch {
		case r == nil:
			return w.startOrBackoff(ctx, pod, c, kindInit, state, state.current(c.Name))
		case r.running() || !r.exited():
			return false
		case r.status.GetExitCode() == 0:
			continue
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return false // the pod failed
		default:
			return w.startOrBackoff(ctx, pod, c, kindInit, state, r)
		}
	}
	return false
}

// initDone reports whether every regular init container completed and
// every sidecar started in the current sandbox.
func (w *podWorker) initDone(pod *corev1.Pod, state *podState) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := state.currentInSandbox(c.Name)
		if isSidecar(c) {
			// A sidecar that started once may restart without holding up
			// the app containers.
			if r == nil || (r.running() && !w.m.probes.Started(r.id)) && len(state.records[c.Name]) == 1 {
				return false
			}
			continue
		}
		if r == nil || !r.exited() || r.status.GetExitCode() != 0 {
			return false
		}
	}
	return true
}

// runApps starts app containers that should run; it reports whether it
// started one.
func (w *podWorker) runApps(ctx context.Context, pod *corev1.Pod, state *podState) bool {
	started := false
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		r := state.currentInSandbox(c.Name)
		prev := state.current(c.Name)
		switch {
		case r != nil && r.running():
			continue
		case r != nil && r.exited() && !w.shouldRestart(pod, r):
			continue
		case r == nil && prev != nil && prev.exited() && !w.shouldRestart(pod, prev):
			continue
		}
		if w.startOrBackoff(ctx, pod, c, kindApp, state, prev) {
			started = true
		}
	}
	return started
}

// runEphemeral starts ephemeral containers that never ran.
func (w *podWorker) runEphemeral(ctx context.Context, pod *corev1.Pod, state *podState) bool {
	started := false
	for i := range pod.Spec.EphemeralContainers {
		ec := &pod.Spec.EphemeralContainers[i]
		if state.current(ec.Name) != nil {
			continue
		}
		c := corev1.Container(ec.EphemeralContainerCommon)
		if w.startContainer(ctx, pod, &c, kindEphemeral, state, ec.TargetContainerName) {
			started = true
		}
	}
	return started
}

// shouldRestart applies the restart policy to an exited container.
func (w *podWorker) shouldRestart(pod *corev1.Pod, r *record) bool {
	if w.forceRestart[r.name] {
		return true
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return r.status.GetExitCode() != 0
	}
	return true
}

// backoffKey identifies a container spec for crash back-off.
func backoffKey(c *corev1.Container) string { return "container/" + c.Name + "/" + containerHash(c) }

// startOrBackoff (re)starts c unless its previous container prev exited
// too recently; it reports whether it started a container.
func (w *podWorker) startOrBackoff(ctx context.Context, pod *corev1.Pod, c *corev1.Container, kind containerKind, state *podState, prev *record) bool {
	if prev != nil && !prev.running() {
		since := prev.finishedAt()
		if prev.status.GetFinishedAt() == 0 {
			since = time.Unix(0, prev.status.GetCreatedAt())
		}
		key := backoffKey(c)
		if in, delay, remaining := w.backoff.inBackoffSince(key, since); in {
			w.waiting[c.Name] = &corev1.ContainerStateWaiting{
				Reason:  reasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, c.Name, podFullName(pod)),
			}
			w.m.event(pod, c, corev1.EventTypeWarning, "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.Name, podFullName(pod)))
			w.wakeIn(remaining)
			return false
		}
		w.backoff.next(key)
	}
	delete(w.forceRestart, c.Name)
	return w.startContainer(ctx, pod, c, kind, state, "")
}

// podIPs are the pod's addresses: the node's for host-network pods.
func (w *podWorker) podIPs(pod *corev1.Pod, state *podState) []string {
	if pod.Spec.HostNetwork {
		if w.m.o.NodeIP == "" {
			return nil
		}
		return []string{w.m.o.NodeIP}
	}
	return state.podIPs()
}

// startContainer pulls c's image, creates and starts it, and runs its
// postStart hook. Failures are kept as c's waiting reason.
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, kind containerKind, state *podState, target string) bool {
	m := w.m
	fail := func(reason, msg string) bool {
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: reason, Message: msg}
		w.wakeIn(2 * time.Second)
		return false
	}
	sbCfg, err := m.sandboxConfig(pod, state.sandbox.GetMetadata().GetAttempt())
	if err != nil {
		return fail(reasonCreateContainerError, err.Error())
	}
	img, err := w.ensureImage(ctx, pod, c, sbCfg)
	if err != nil {
		var ie *imageError
		if errors.As(err, &ie) {
			if ie.reason == reasonErrImagePull || ie.reason == reasonImagePullBackOff {
				_, _, remaining := w.backoff.inBackoffSince("image/"+c.Image, w.backoff.now())
				w.wakeIn(remaining)
			}
			return fail(ie.reason, ie.msg)
		}
		return fail(reasonErrImagePull, err.Error())
	}
	si := startInfo{kind: kind, restartCount: state.nextRestartCount(c.Name), podIPs: w.podIPs(pod, state), image: img}
	if target != "" {
		if t := state.currentInSandbox(target); t != nil {
			si.targetID = t.id
		}
	}
	cfg, err := m.containerConfig(ctx, pod, c, si)
	if err != nil {
		reason := reasonCreateContainerError
		var ce *configError
		if errors.As(err, &ce) {
			reason = reasonCreateConfigError
		}
		m.event(pod, c, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return fail(reason, err.Error())
	}
	id, err := m.o.Runtime.CreateContainer(ctx, state.sandbox.GetId(), cfg, sbCfg)
	if err != nil {
		m.event(pod, c, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return fail(reasonCreateContainerError, err.Error())
	}
	m.event(pod, c, corev1.EventTypeNormal, "Created", "Created container "+c.Name)
	if err := m.o.Runtime.StartContainer(ctx, id); err != nil {
		if w.sandboxGone(ctx, state.sandbox.GetId()) {
			// The sandbox died under us (its pause process is gone): not the
			// container's failure. The attempt is removed, so it counts as no
			// restart, and the next sync re-creates the sandbox.
			if err := m.o.Runtime.RemoveContainer(ctx, id); err != nil {
				m.log.Warn("remove container started into a dead sandbox", "pod", w.namespace+"/"+w.name, "container", c.Name, "err", err)
			}
			w.wakeIn(0)
			return true
		}
		m.event(pod, c, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return fail(reasonRunContainerError, err.Error())
	}
	m.event(pod, c, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	delete(w.waiting, c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		podIP := ""
		if ips := si.podIPs; len(ips) > 0 {
			podIP = ips[0]
		}
		if err := prober.RunHandler(ctx, m.o.Runtime, pod, id, podIP, c.Lifecycle.PostStart); err != nil {
			m.event(pod, c, corev1.EventTypeWarning, "FailedPostStartHook", hookMessage(pod, c, err))
			m.event(pod, c, corev1.EventTypeNormal, "Killing", fmt.Sprintf("FailedPostStartHook: stopping container %s", c.Name))
			if err := m.o.Runtime.StopContainer(ctx, id, gracePeriod(pod)); err != nil {
				m.log.Warn("stop container after postStart failure", "container", c.Name, "err", err)
			}
			return fail(reasonPostStartHookError, err.Error())
		}
	}
	return true
}

// sandboxGone reports whether sandbox id stopped (or went away) since the
// worker observed it. The runtime marks a sandbox not ready only after it
// has seen its pause process exit, so a ready sandbox is asked again for up
// to a second before the answer is no.
func (w *podWorker) sandboxGone(ctx context.Context, id string) bool {
	for range 10 {
		st, err := w.m.o.Runtime.PodSandboxStatus(ctx, id)
		switch {
		case errors.Is(err, cri.ErrNotFound):
			return true
		case err != nil:
			return false
		case st.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY:
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// gracePeriod is the pod's termination grace period.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

// stopSandboxes stops the pod's ready sandboxes (a finished pod keeps its
// containers, for logs, until it is deleted); running sidecars get their
// preStop hooks and grace period first. It reports whether it stopped any.
func (w *podWorker) stopSandboxes(ctx context.Context, state *podState) bool {
	stopped := false
	for _, s := range state.sandboxes {
		if s.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if !stopped && w.lastPod != nil {
			w.stopContainers(ctx, w.lastPod, state, time.Now().Add(gracePeriod(w.lastPod)))
		}
		stopped = true
		if err := w.m.o.Runtime.StopPodSandbox(ctx, s.GetId()); err != nil {
			w.m.log.Warn("stop sandbox", "pod", w.namespace+"/"+w.name, "err", err)
			w.wakeIn(time.Second)
		}
	}
	return stopped
}

// gc removes containers no status needs: for each name the newest record
// and the one before it (lastState) are kept; sandboxes other than the
// newest go when no kept container is in them.
func (w *podWorker) gc(ctx context.Context, state *podState) {
	inUse := map[string]bool{}
	for _, rs := range state.records {
		for i, r := range rs {
			if i < 2 || r.running() {
				inUse[r.sandboxID] = true
				continue
			}
			if err := w.m.o.Runtime.RemoveContainer(ctx, r.id); err != nil {
				w.m.log.Warn("remove container", "container", r.id, "err", err)
			}
		}
	}
	for i, s := range state.sandboxes {
		if i == 0 || inUse[s.GetId()] || s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if err := w.m.o.Runtime.RemovePodSandbox(ctx, s.GetId()); err != nil {
			w.m.log.Warn("remove sandbox", "sandbox", s.GetId(), "err", err)
		}
	}
}

// now is the status clock.
func now() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

func ptrTo[T any](v T) *T { return &v }

// hookMessage is the event message of a failed lifecycle hook.
func hookMessage(pod *corev1.Pod, c *corev1.Container, err error) string {
	var he *prober.HookError
	if errors.As(err, &he) {
		return he.EventMessage(pod, c.Name)
	}
	return err.Error()
}
