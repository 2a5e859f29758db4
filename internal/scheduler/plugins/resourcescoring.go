package plugins

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// resourceScorer scores a node by the weighted average over resources of
// score(requested after placing the pod, allocatable). With nonZero, cpu
// and memory count the scoring defaults for containers without requests.
type resourceScorer struct {
	resources []ResourceSpec
	score     func(requested, capacity int64) int64
	nonZero   bool
}

// scoringRequests are a pod's requests as the scorers count them.
type scoringRequests struct {
	req, nonZero framework.Resource
}

func (s *scoringRequests) Clone() framework.StateData { return s }

func newScoringRequests(pod *corev1.Pod) *scoringRequests {
	return &scoringRequests{req: framework.PodRequests(pod, nil), nonZero: framework.NonZeroPodRequests(pod)}
}

func (r resourceScorer) scoreNode(pod *scoringRequests, ni *framework.NodeInfo) int64 {
	var total, weights int64
	for _, res := range r.resources {
		requested, capacity := r.amounts(corev1.ResourceName(res.Name), &pod.req, &pod.nonZero, ni)
		if capacity == 0 {
			continue
		}
		total += r.score(requested, capacity) * res.Weight
		weights += res.Weight
	}
	if weights == 0 {
		return 0
	}
	return total / weights
}

// amounts returns the requested amount of name on ni once the pod is
// there, and the node's allocatable.
func (r resourceScorer) amounts(name corev1.ResourceName, podReq, podNonZero *framework.Resource, ni *framework.NodeInfo) (int64, int64) {
	switch name {
	case corev1.ResourceCPU:
		if r.nonZero {
			return ni.NonZeroRequested.MilliCPU + podNonZero.MilliCPU, ni.Allocatable.MilliCPU
		}
		return ni.Requested.MilliCPU + podReq.MilliCPU, ni.Allocatable.MilliCPU
	case corev1.ResourceMemory:
		if r.nonZero {
			return ni.NonZeroRequested.Memory + podNonZero.Memory, ni.Allocatable.Memory
		}
		return ni.Requested.Memory + podReq.Memory, ni.Allocatable.Memory
	case corev1.ResourceEphemeralStorage:
		return ni.Requested.EphemeralStorage + podReq.EphemeralStorage, ni.Allocatable.EphemeralStorage
	default:
		return ni.Requested.Scalar[name] + podReq.Scalar[name], ni.Allocatable.Scalar[name]
	}
}

// leastRequestedScore favours free room: 100 for an empty node, 0 for a
// full (or overfull) one.
func leastRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// mostRequestedScore favours full nodes (bin packing).
func mostRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	requested = min(requested, capacity)
	return requested * framework.MaxNodeScore / capacity
}
