package pods

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// Limits on termination messages, the kubelet's.
const (
	maxTerminationMessage = 4096
	maxFallbackLogBytes   = 2048
	maxFallbackLogLines   = 80
)

// podStatus computes pod's status from the runtime's state (podIsTerminal:
// the pod is being deleted and nothing restarts).
func (w *podWorker) podStatus(pod *corev1.Pod, state *podState) corev1.PodStatus {
	return w.podStatusTerminal(pod, state, false)
}

func (w *podWorker) podStatusTerminal(pod *corev1.Pod, state *podState, podIsTerminal bool) corev1.PodStatus {
	old := pod.Status
	s := corev1.PodStatus{
		QOSClass:          qosClass(pod),
		StartTime:         old.StartTime,
		NominatedNodeName: old.NominatedNodeName,
		HostIP:            w.m.o.NodeIP,
	}
	if s.StartTime == nil {
		t := now()
		s.StartTime = &t
	}
	if w.m.o.NodeIP != "" {
		s.HostIPs = []corev1.HostIP{{IP: w.m.o.NodeIP}}
	}
	if ips := w.podIPs(pod, state); len(ips) > 0 {
		s.PodIP = ips[0]
		for _, ip := range ips {
			s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
		}
	} else {
		s.PodIP, s.PodIPs = old.PodIP, old.PodIPs
	}
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		reason := reasonPodInitializing
		cs := w.containerStatus(pod, c, state, reason, podIsTerminal)
		if isSidecar(c) {
			if cs.Started == nil || !*cs.Started {
				initDone = false
			}
		} else if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			initDone = false
			cs.Ready = false
		} else {
			cs.Ready = true
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	for i := range pod.Spec.Containers {
		reason := reasonContainerCreating
		if !initDone {
			reason = reasonPodInitializing
		}
		s.ContainerStatuses = append(s.ContainerStatuses, w.containerStatus(pod, &pod.Spec.Containers[i], state, reason, podIsTerminal))
	}
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		s.EphemeralContainerStatuses = append(s.EphemeralContainerStatuses, w.containerStatus(pod, &c, state, reasonContainerCreating, podIsTerminal))
	}
	s.Phase = podPhase(pod, &s, podIsTerminal)
	s.Conditions = w.conditions(pod, &s, state, initDone)
	return s
}

// containerStatus is one container's status from its newest records.
func (w *podWorker) containerStatus(pod *corev1.Pod, c *corev1.Container, state *podState, defaultReason string, podIsTerminal bool) corev1.ContainerStatus {
	f := false
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: &f}
	rs := state.records[c.Name]
	if len(rs) == 0 {
		cs.State.Waiting = w.waitingFor(c.Name, defaultReason)
		return cs
	}
	r := rs[0]
	cs.RestartCount = int32(r.restartCount)
	cs.ContainerID = cri.ContainerIDPrefix + r.id
	cs.ImageID = r.status.GetImageRef()
	if len(rs) > 1 && rs[1].exited() {
		cs.LastTerminationState.Terminated = w.terminated(pod, c, rs[1])
	}
	switch {
	case r.running():
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: apiTime(r.status.GetStartedAt())}
		started := w.m.probes.Started(r.id)
		cs.Started = &started
		cs.Ready = started && w.m.probes.Ready(r.id)
	case r.exited():
		term := w.terminated(pod, c, r)
		if wt := w.waiting[c.Name]; wt != nil && !podIsTerminal && !w.terminal {
			cs.State.Waiting = wt.DeepCopy()
			cs.LastTerminationState = corev1.ContainerState{Terminated: term}
		} else {
			cs.State.Terminated = term
		}
	default:
		cs.State.Waiting = w.waitingFor(c.Name, reasonContainerCreating)
	}
	return cs
}

// apiTime is a runtime timestamp (Unix nanoseconds) as the API stores it,
// to the second; with the nanoseconds kept, every status would differ from
// the one read back and be written again.
func apiTime(unixNano int64) metav1.Time {
	return metav1.NewTime(time.Unix(0, unixNano).Truncate(time.Second))
}

func (w *podWorker) waitingFor(name, defaultReason string) *corev1.ContainerStateWaiting {
	if wt := w.waiting[name]; wt != nil {
		return wt.DeepCopy()
	}
	return &corev1.ContainerStateWaiting{Reason: defaultReason}
}

// terminated is an exited container's terminated state.
func (w *podWorker) terminated(pod *corev1.Pod, c *corev1.Container, r *record) *corev1.ContainerStateTerminated {
	st := r.status
	t := &corev1.ContainerStateTerminated{
		ExitCode:    st.GetExitCode(),
		Reason:      st.GetReason(),
		Message:     st.GetMessage(),
		StartedAt:   apiTime(st.GetStartedAt()),
		FinishedAt:  apiTime(st.GetFinishedAt()),
		ContainerID: cri.ContainerIDPrefix + r.id,
	}
	if st.GetStartedAt() == 0 {
		t.StartedAt = metav1.Time{}
	}
	if msg := w.terminationMessage(pod, c, r); msg != "" {
		t.Message = msg
	}
	return t
}

// terminationMessage reads what the container wrote to its termination
// message file, or the tail of its log (FallbackToLogsOnError).
func (w *podWorker) terminationMessage(pod *corev1.Pod, c *corev1.Container, r *record) string {
	b, _ := os.ReadFile(w.m.terminationLogPath(pod, c.Name, r.restartCount))
	if len(b) > maxTerminationMessage {
		b = b[:maxTerminationMessage]
	}
	if len(b) > 0 {
		return string(b)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError || r.status.GetExitCode() == 0 {
		return ""
	}
	return logTail(r.status.GetLogPath(), maxFallbackLogLines, maxFallbackLogBytes)
}

// logTail returns the last lines (at most maxBytes) of a CRI log file's
// content.
func logTail(path string, lines, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 1<<20 {
		_, _ = f.Seek(fi.Size()-1<<20, 0)
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// "<time> <stream> <P|F> <content>"
		parts := bytes.SplitN(sc.Bytes(), []byte(" "), 4)
		if len(parts) < 4 {
			continue
		}
		if n := len(out); n > 0 && strings.HasSuffix(out[n-1], "\x00") {
			out[n-1] = strings.TrimSuffix(out[n-1], "\x00") + string(parts[3])
		} else {
			out = append(out, string(parts[3]))
		}
		if string(parts[2]) == "P" {
			out[len(out)-1] += "\x00"
		}
	}
	if len(out) > lines {
		out = out[len(out)-lines:]
	}
	text := strings.ReplaceAll(strings.Join(out, "\n"), "\x00", "")
	if len(out) > 0 {
		text += "\n"
	}
	if len(text) > maxBytes {
		text = text[len(text)-maxBytes:]
	}
	return text
}

// podPhase follows the kubelet's rules.
func podPhase(pod *corev1.Pod, s *corev1.PodStatus, podIsTerminal bool) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	for i, c := range pod.Spec.InitContainers {
		cs := s.InitContainerStatuses[i]
		if isSidecar(&c) {
			if cs.Started == nil || !*cs.Started {
				pendingInit++
			}
			continue
		}
		switch {
		case cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if cs.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			if cs.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	running, waiting, stopped, succeeded, anyStarted := 0, 0, 0, 0, false
	for _, cs := range s.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
			anyStarted = true
		case cs.State.Terminated != nil:
			stopped++
			anyStarted = true
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
			anyStarted = true
		default:
			waiting++
		}
	}
	if failedInit > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !anyStarted, waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		if podIsTerminal || pod.Spec.RestartPolicy != corev1.RestartPolicyAlways {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			if podIsTerminal || pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				return corev1.PodFailed
			}
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// conditions are the kubelet-owned pod conditions.
func (w *podWorker) conditions(pod *corev1.Pod, s *corev1.PodStatus, state *podState, initDone bool) []corev1.PodCondition {
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		return c
	}
	var incomplete, unready []string
	for i, c := range pod.Spec.InitContainers {
		cs := s.InitContainerStatuses[i]
		if isSidecar(&c) {
			if !cs.Ready {
				unready = append(unready, c.Name)
			}
			if cs.Started == nil || !*cs.Started {
				incomplete = append(incomplete, c.Name)
			}
		} else if !cs.Ready {
			incomplete = append(incomplete, c.Name)
		}
	}
	for _, cs := range s.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	initialized := cond(corev1.PodInitialized, initDone, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
	containersReady := cond(corev1.ContainersReady, len(unready) == 0, "ContainersNotReady",
		fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	ready := cond(corev1.PodReady, len(unready) == 0, "ContainersNotReady",
		fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	if ready.Status == corev1.ConditionTrue {
		if msg := readinessGatesMessage(pod); msg != "" {
			ready = cond(corev1.PodReady, false, "ReadinessGatesNotReady", msg)
		}
	}
	if s.Phase == corev1.PodSucceeded {
		initialized.Reason = "PodCompleted"
		containersReady = cond(corev1.ContainersReady, false, "PodCompleted", "")
		ready = cond(corev1.PodReady, false, "PodCompleted", "")
	}
	sandboxReady := cond(corev1.PodReadyToStartContainers, state.sandbox != nil, "", "")
	out := []corev1.PodCondition{sandboxReady, initialized, ready, containersReady}
	for i := range out {
		out[i].LastTransitionTime = now()
		for _, o := range pod.Status.Conditions {
			if o.Type == out[i].Type && o.Status == out[i].Status {
				out[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return out
}

// readinessGatesMessage says why the readiness gates do not hold ("" when
// they do).
func readinessGatesMessage(pod *corev1.Pod) string {
	var msgs []string
	for _, g := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == g.ConditionType {
				found = &pod.Status.Conditions[i]
			}
		}
		switch {
		case found == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case found.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %s", g.ConditionType, found.Status))
		}
	}
	return strings.Join(msgs, ", ")
}

// phase is the phase podStatus would report.
func (w *podWorker) phase(pod *corev1.Pod, state *podState) corev1.PodPhase {
	return w.podStatus(pod, state).Phase
}
