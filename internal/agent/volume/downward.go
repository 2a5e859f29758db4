package volume

import (
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiffhq/skiff/internal/agent/envvars"
)

// downwardAPIPayload builds the files of downward API items.
func (m *Manager) downwardAPIPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, defaultMode int32) (payload, error) {
	p := payload{}
	for _, it := range items {
		var value string
		var err error
		switch {
		case it.FieldRef != nil:
			value, err = podFieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			value, err = m.resourceFieldValue(pod, it.ResourceFieldRef)
		default:
			err = fmt.Errorf("item %q: set fieldRef or resourceFieldRef", it.Path)
		}
		if err != nil {
			return nil, err
		}
		p[it.Path] = file{data: []byte(value), mode: fs.FileMode(modeOr(it.Mode, defaultMode))}
	}
	return p, nil
}

// podFieldValue resolves a downward API fieldPath of pod (metadata
// fields; labels and annotations as sorted key="value" lines), with the
// agent's env resolver so volumes and env agree.
func podFieldValue(pod *corev1.Pod, path string) (string, error) {
	rt := envvars.Runtime{HostIP: pod.Status.HostIP}
	for _, ip := range pod.Status.PodIPs {
		rt.PodIPs = append(rt.PodIPs, ip.IP)
	}
	return envvars.FieldValue(pod, rt, path)
}

// resourceFieldValue resolves a resourceFieldRef: a container's request or
// limit divided by divisor (rounded up); a limit that is not set is the
// node's allocatable amount.
func (m *Manager) resourceFieldValue(pod *corev1.Pod, ref *corev1.ResourceFieldSelector) (string, error) {
	c := findContainer(pod, ref.ContainerName)
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: container %q not found in pod", ref.ContainerName)
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource: %s", ref.Resource)
	}
	res := corev1.ResourceName(name)
	switch res {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
	default:
		return "", fmt.Errorf("unsupported container resource: %s", ref.Resource)
	}
	var q resource.Quantity
	var set bool
	if kind == "requests" {
		q, set = c.Resources.Requests[res]
	} else {
		q, set = c.Resources.Limits[res]
	}
	if !set && kind == "limits" && m.o.NodeAllocatable != nil {
		q, set = m.o.NodeAllocatable()[res]
	}
	if !set {
		q = resource.Quantity{}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	return strconv.FormatInt(divideCeil(q, divisor, res == corev1.ResourceCPU), 10), nil
}

// divideCeil is ceil(q / divisor), in millis for CPU so "1m" divisors work.
func divideCeil(q, divisor resource.Quantity, cpu bool) int64 {
	if cpu {
		return int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))
	}
	return int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))
}

// findContainer returns the (init) container named name; an empty name
// means the only container.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	if name == "" && len(pod.Spec.Containers) == 1 {
		return &pod.Spec.Containers[0]
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
