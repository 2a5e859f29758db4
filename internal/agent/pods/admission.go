package pods

import (
	corev1 "k8s.io/api/core/v1"
)

// admit decides whether the node can run pod; it returns a reason and
// message when it cannot.
func (m *Manager) admit(pod *corev1.Pod) (reason, message string) {
	return "", ""
}

// reject marks pod Failed with reason and message.
func (w *podWorker) reject(pod *corev1.Pod, reason, msg string) {
	w.terminal = true
	w.m.event(pod, nil, corev1.EventTypeWarning, reason, msg)
	status := *pod.Status.DeepCopy()
	status.Phase, status.Reason, status.Message = corev1.PodFailed, reason, msg
	w.m.statuses.set(pod, status)
}
