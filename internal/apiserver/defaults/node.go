package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Node fills allocatable from capacity when unset, rounds resource lists and
// keeps podCIDR and podCIDRs in sync.
func Node(node *corev1.Node) {
	st := &node.Status
	if st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = make(corev1.ResourceList, len(st.Capacity))
		for k, v := range st.Capacity {
			st.Allocatable[k] = v.DeepCopy()
		}
	}
	roundResourceList(st.Capacity)
	roundResourceList(st.Allocatable)
	spec := &node.Spec
	if len(spec.PodCIDRs) == 0 && spec.PodCIDR != "" {
		spec.PodCIDRs = []string{spec.PodCIDR}
	} else if len(spec.PodCIDRs) > 0 {
		spec.PodCIDR = spec.PodCIDRs[0]
	}
}
