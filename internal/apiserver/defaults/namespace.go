package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Namespace fills status.phase Active, the kubernetes.io/metadata.name
// label, and the "kubernetes" spec finalizer that the namespace controller
// removes once the namespace is empty. Upstream adds the finalizer in its
// create strategy; callers should apply this on create.
func Namespace(ns *corev1.Namespace) {
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}
