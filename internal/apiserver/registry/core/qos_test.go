package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQOSClass(t *testing.T) {
	res := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	ctr := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	tests := []struct {
		name string
		init []corev1.Container
		ctrs []corev1.Container
		want corev1.PodQOSClass
	}{
		{name: "nothing set", ctrs: []corev1.Container{ctr(nil, nil)}, want: corev1.PodQOSBestEffort},
		{name: "zero requests only", ctrs: []corev1.Container{ctr(res("cpu", "0"), nil)}, want: corev1.PodQOSBestEffort},
		{name: "other resources only", ctrs: []corev1.Container{ctr(res("ephemeral-storage", "1Gi"), nil)}, want: corev1.PodQOSBestEffort},
		{name: "requests", ctrs: []corev1.Container{ctr(res("cpu", "100m"), nil)}, want: corev1.PodQOSBurstable},
		{name: "limits equal requests", ctrs: []corev1.Container{ctr(res("cpu", "1", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))},
			want: corev1.PodQOSGuaranteed},
		{name: "limits only (requests default to them)", ctrs: []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi"))},
			want: corev1.PodQOSGuaranteed},
		{name: "limits differ from requests", ctrs: []corev1.Container{ctr(res("cpu", "500m", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))},
			want: corev1.PodQOSBurstable},
		{name: "cpu limit only", ctrs: []corev1.Container{ctr(nil, res("cpu", "1"))}, want: corev1.PodQOSBurstable},
		{name: "one container without limits", ctrs: []corev1.Container{
			ctr(nil, res("cpu", "1", "memory", "1Gi")), ctr(nil, nil)}, want: corev1.PodQOSBurstable},
		{name: "limits split over containers", ctrs: []corev1.Container{
			ctr(nil, res("cpu", "1", "memory", "1Gi")), ctr(nil, res("cpu", "1", "memory", "2Gi"))}, want: corev1.PodQOSGuaranteed},
		{name: "init container counts", init: []corev1.Container{ctr(res("memory", "1Gi"), nil)},
			ctrs: []corev1.Container{ctr(nil, nil)}, want: corev1.PodQOSBurstable},
		{name: "init container without limits spoils guaranteed", init: []corev1.Container{ctr(nil, nil)},
			ctrs: []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi"))}, want: corev1.PodQOSBurstable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := QOSClass(&corev1.PodSpec{InitContainers: tc.init, Containers: tc.ctrs})
			if got != tc.want {
				t.Errorf("QOSClass = %s, want %s", got, tc.want)
			}
		})
	}
}
