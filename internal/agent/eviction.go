package agent

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Eviction signals the agent watches, as the kubelet names them.
const (
	signalMemoryAvailable  = "memory.available"
	signalNodeFSAvailable  = "nodefs.available"
	signalImageFSAvailable = "imagefs.available"
	signalPIDAvailable     = "pid.available"
)

// DefaultEvictionHard are the kubelet's default hard eviction thresholds.
var defaultEvictionHard = map[string]string{
	signalMemoryAvailable:  "100Mi",
	signalNodeFSAvailable:  "10%",
	signalImageFSAvailable: "15%",
}

// threshold is one eviction threshold: an absolute quantity or a
// percentage of capacity.
type threshold struct {
	quantity *resource.Quantity
	percent  float64
}

// parseThresholds validates EvictionHard ("memory.available": "100Mi",
// "nodefs.available": "10%").
func parseThresholds(in map[string]string) (map[string]threshold, error) {
	if in == nil {
		in = defaultEvictionHard
	}
	out := map[string]threshold{}
	for signal, v := range in {
		switch signal {
		case signalMemoryAvailable, signalNodeFSAvailable, signalImageFSAvailable, signalPIDAvailable:
		default:
			return nil, fmt.Errorf("eviction-hard: unknown signal %q (want memory.available, nodefs.available, imagefs.available or pid.available)", signal)
		}
		if p, ok := strings.CutSuffix(v, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f < 0 || f > 100 {
				return nil, fmt.Errorf("eviction-hard: %s: invalid percentage %q", signal, v)
			}
			out[signal] = threshold{percent: f}
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return nil, fmt.Errorf("eviction-hard: %s: invalid quantity %q", signal, v)
		}
		out[signal] = threshold{quantity: &q}
	}
	return out, nil
}

// value is the threshold for a resource of the given capacity.
func (t threshold) value(capacity int64) int64 {
	if t.quantity != nil {
		return t.quantity.Value()
	}
	return int64(float64(capacity) * t.percent / 100)
}

// allocatable is capacity minus the reservations and the hard eviction
// thresholds, never below zero.
func allocatable(capacity corev1.ResourceList, kube, system corev1.ResourceList, hard map[string]threshold) corev1.ResourceList {
	out := capacity.DeepCopy()
	sub := func(name corev1.ResourceName, q resource.Quantity) {
		v, ok := out[name]
		if !ok {
			return
		}
		v.Sub(q)
		if v.Sign() < 0 {
			v = *resource.NewQuantity(0, v.Format)
		}
		out[name] = v
	}
	for _, r := range []corev1.ResourceList{kube, system} {
		for name, q := range r {
			sub(name, q)
		}
	}
	if t, ok := hard[signalMemoryAvailable]; ok {
		mem := capacity[corev1.ResourceMemory]
		sub(corev1.ResourceMemory, *resource.NewQuantity(t.value(mem.Value()), resource.BinarySI))
	}
	if t, ok := hard[signalNodeFSAvailable]; ok {
		disk := capacity[corev1.ResourceEphemeralStorage]
		sub(corev1.ResourceEphemeralStorage, *resource.NewQuantity(t.value(disk.Value()), resource.BinarySI))
	}
	return out
}
