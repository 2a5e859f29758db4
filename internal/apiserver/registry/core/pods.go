package core

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// Pods is core/v1 pods.
func Pods() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("pods"), Kind: "Pod", SingularName: "pod", Namespaced: true,
		ShortNames: []string{"po"}, Categories: []string{"all"},
		HasStatus: true, ReturnDeletedObject: true,
		Subresources: []string{"attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward", "proxy"},
		New:          func() runtime.Object { return &corev1.Pod{} },
		NewList:      func() runtime.Object { return &corev1.PodList{} },
	}, registry.Strategy[*corev1.Pod]{
		PrepareForCreate: func(_ context.Context, p *corev1.Pod) error {
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(&p.Spec)}
			return nil
		},
		PrepareForUpdate: func(p, old *corev1.Pod) {
			p.Status = old.Status
		},
		Default:              defaults.Pod,
		Validate:             validation.ValidatePod,
		ValidateUpdate:       validation.ValidatePodUpdate,
		ValidateStatusUpdate: validation.ValidatePodStatusUpdate,
		Fields:               podFields(),
		GracefulDelete:       podGracePeriod,
		Table:                podTable,
	})
}

// podFields are the pods' field-selector fields. They are read on their
// own: every pod event is checked against the field selectors of the
// node agents and the scheduler.
func podFields() registry.FieldGetters[*corev1.Pod] {
	return registry.FieldGetters[*corev1.Pod]{
		"spec.nodeName":            func(p *corev1.Pod) string { return p.Spec.NodeName },
		"spec.restartPolicy":       func(p *corev1.Pod) string { return string(p.Spec.RestartPolicy) },
		"spec.schedulerName":       func(p *corev1.Pod) string { return p.Spec.SchedulerName },
		"spec.serviceAccountName":  func(p *corev1.Pod) string { return p.Spec.ServiceAccountName },
		"spec.hostNetwork":         func(p *corev1.Pod) string { return strconv.FormatBool(p.Spec.HostNetwork) },
		"status.phase":             func(p *corev1.Pod) string { return string(p.Status.Phase) },
		"status.podIP":             func(p *corev1.Pod) string { return p.Status.PodIP },
		"status.nominatedNodeName": func(p *corev1.Pod) string { return p.Status.NominatedNodeName },
	}
}

// podGracePeriod: a pod on a node is only marked and its node agent stops
// it; an unscheduled or finished pod goes at once.
func podGracePeriod(p *corev1.Pod, opts *metav1.DeleteOptions) (bool, int64) {
	if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if p.Spec.TerminationGracePeriodSeconds != nil {
		grace = *p.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	return grace > 0, grace
}
