package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// Defaults the scoring plugins assume for a container that requests no
// cpu or memory, so that such pods still spread (upstream's non-zero
// requests).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of compute resources in integer units: millicores,
// bytes, pods, and raw units of every other (scalar) resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	// Scalar holds extended resources, hugepages and other named resources.
	Scalar map[corev1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds a ResourceList.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		case corev1.ResourceStorage:
			// Not a node-level scheduling resource.
		default:
			r.AddScalar(name, q.Value())
		}
	}
}

// AddScalar adds v of a scalar resource.
func (r *Resource) AddScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[corev1.ResourceName]int64{}
	}
	r.Scalar[name] += v
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.AddScalar(n, v)
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.AddScalar(n, -v)
	}
}

// SetMax raises every amount of r to at least the one in o.
func (r *Resource) SetMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	r.AllowedPodNumber = max(r.AllowedPodNumber, o.AllowedPodNumber)
	for n, v := range o.Scalar {
		if v > r.Scalar[n] {
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[n] = v
		}
	}
}

// IsZero reports that r holds no amounts.
func (r *Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 || r.AllowedPodNumber != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (r Resource) Clone() Resource {
	if r.Scalar != nil {
		s := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			s[k] = v
		}
		r.Scalar = s
	}
	return r
}

// isRestartableInit reports a sidecar: an init container that keeps running
// (restartPolicy Always).
func isRestartableInit(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// PodRequests is the amount a pod reserves on a node, computed like
// upstream: the larger of (app containers + sidecars) and the peak of the
// init phase, where each regular init container runs next to the sidecars
// started before it; plus the pod overhead. transform, when set, changes
// each container's requests first (the non-zero defaults for scoring).
func PodRequests(pod *corev1.Pod, transform func(corev1.ResourceList) Resource) Resource {
	conv := transform
	if conv == nil {
		conv = NewResource
	}
	var reqs Resource
	for i := range pod.Spec.Containers {
		c := conv(pod.Spec.Containers[i].Resources.Requests)
		reqs.AddResource(&c)
	}
	var sidecars, initPeak Resource
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		c := conv(ic.Resources.Requests)
		if isRestartableInit(ic) {
			// A sidecar runs for the pod's whole life.
			reqs.AddResource(&c)
			sidecars.AddResource(&c)
			c = sidecars.Clone()
		} else {
			c.AddResource(&sidecars)
		}
		initPeak.SetMax(&c)
	}
	reqs.SetMax(&initPeak)
	if pod.Spec.Overhead != nil {
		reqs.Add(pod.Spec.Overhead)
	}
	return reqs
}

// nonZeroRequests is the transform of PodRequests for scoring: a container
// without a cpu or memory request counts the defaults.
func nonZeroRequests(rl corev1.ResourceList) Resource {
	var r Resource
	if q, ok := rl[corev1.ResourceCPU]; ok {
		r.MilliCPU = q.MilliValue()
	} else {
		r.MilliCPU = DefaultMilliCPURequest
	}
	if q, ok := rl[corev1.ResourceMemory]; ok {
		r.Memory = q.Value()
	} else {
		r.Memory = DefaultMemoryRequest
	}
	return r
}

// NonZeroPodRequests is PodRequests with the scoring defaults for
// containers that request no cpu or memory; only cpu and memory are set.
func NonZeroPodRequests(pod *corev1.Pod) Resource {
	r := PodRequests(pod, nonZeroRequests)
	return Resource{MilliCPU: r.MilliCPU, Memory: r.Memory}
}
