package core

import (
	corev1 "k8s.io/api/core/v1"
)

// QOSClass computes a pod's quality-of-service class from its containers'
// cpu and memory requests and limits: Guaranteed when every container sets
// limits equal to requests for both, BestEffort when none sets any,
// Burstable otherwise.
func QOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	t := qosTally{guaranteed: true}
	for i := range spec.InitContainers {
		t.add(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		t.add(&spec.Containers[i])
	}
	if t.requests == [2]bool{} && t.limits == [2]bool{} {
		return corev1.PodQOSBestEffort
	}
	if t.guaranteed && t.limits == [2]bool{true, true} {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// qosResources are the resources that decide the class.
var qosResources = [2]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

// qosTally is what QOSClass learns from the containers: per qosResources
// entry, whether any container requests or limits a non-zero amount, and
// whether every container limits both and requests what it limits.
type qosTally struct {
	requests, limits [2]bool
	guaranteed       bool
}

func (t *qosTally) add(c *corev1.Container) {
	for i, name := range qosResources {
		req, hasReq := c.Resources.Requests[name]
		lim, hasLim := c.Resources.Limits[name]
		if hasReq && !req.IsZero() {
			t.requests[i] = true
		}
		if hasLim && !lim.IsZero() {
			t.limits[i] = true
		}
		if !hasLim || (hasReq && req.Cmp(lim) != 0) {
			t.guaranteed = false
		}
	}
}
