package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// roundResourceList rounds quantities up to milli precision, as upstream does
// for every resource list it stores.
func roundResourceList(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(-3)
		list[name] = q
	}
}

// requestsFromLimits sets each missing request to its limit. Upstream does
// this for pods only, not for pod templates.
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = make(corev1.ResourceList, len(r.Limits))
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
