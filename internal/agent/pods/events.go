package pods

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// event records an event about pod, or about its container c when c is set
// (with the container's field path, as kubectl describe shows).
func (m *Manager) event(pod *corev1.Pod, c *corev1.Container, eventType, reason, msg string) {
	if c == nil {
		m.recorder.Event(pod, eventType, reason, msg)
		return
	}
	ref := &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion, FieldPath: containerFieldPath(pod, c.Name),
	}
	m.recorder.Event(ref, eventType, reason, msg)
}

// containerFieldPath is "spec.containers{name}" (or initContainers,
// ephemeralContainers).
func containerFieldPath(pod *corev1.Pod, name string) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.ephemeralContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}
