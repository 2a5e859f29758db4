package envvars

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// fieldValue resolves a fieldRef (the downward API for env).
func fieldValue(pod *corev1.Pod, rt Runtime, ref *corev1.ObjectFieldSelector) (string, error) {
	if ref.APIVersion != "" && ref.APIVersion != "v1" {
		return "", fmt.Errorf("unsupported pod version: %s", ref.APIVersion)
	}
	return FieldValue(pod, rt, ref.FieldPath)
}

// FieldValue resolves a downward API fieldPath of pod: metadata.name,
// namespace, uid, labels, annotations (whole, as sorted key="value" lines,
// or one key as metadata.labels['k']), spec.nodeName,
// spec.serviceAccountName and status.hostIP(s)/podIP(s) from rt.
func FieldValue(pod *corev1.Pod, rt Runtime, path string) (string, error) {
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return rt.HostIP, nil
	case "status.hostIPs":
		if len(rt.HostIPs) == 0 {
			return rt.HostIP, nil
		}
		return strings.Join(rt.HostIPs, ","), nil
	case "status.podIP":
		if len(rt.PodIPs) == 0 {
			return "", nil
		}
		return rt.PodIPs[0], nil
	case "status.podIPs":
		return strings.Join(rt.PodIPs, ","), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	if field, key, ok := subscript(path); ok {
		switch field {
		case "metadata.labels":
			return pod.Labels[key], nil
		case "metadata.annotations":
			return pod.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

// subscript splits "metadata.labels['key']" into its field and key.
func subscript(path string) (field, key string, ok bool) {
	if !strings.HasSuffix(path, "']") {
		return "", "", false
	}
	field, key, ok = strings.Cut(strings.TrimSuffix(path, "']"), "['")
	return field, key, ok && field != "" && key != ""
}

// formatMap renders labels or annotations as the downward API does: one
// key="value" line per key, sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return strings.Join(lines, "\n")
}

// resourceValue resolves a resourceFieldRef of container c: a request or
// limit divided by the divisor (default 1), rounded up. Unset cpu, memory
// and ephemeral-storage limits are the node's allocatable.
func resourceValue(c *corev1.Container, rt Runtime, ref *corev1.ResourceFieldSelector) (string, error) {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if divisor.MilliValue() <= 0 {
		return "", fmt.Errorf("invalid divisor %s for %s", divisor.String(), ref.Resource)
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	res := corev1.ResourceName(name)
	switch res {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
	default:
		if !strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
			return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
		}
	}
	var q resource.Quantity
	if kind == "requests" {
		q = c.Resources.Requests[res]
	} else {
		q = c.Resources.Limits[res]
		if q.IsZero() && !strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
			q = rt.NodeAllocatable[res]
		}
	}
	if res == corev1.ResourceCPU || divisor.Value() == 0 {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}
