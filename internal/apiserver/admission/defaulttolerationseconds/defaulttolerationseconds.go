// Package defaulttolerationseconds is the DefaultTolerationSeconds
// admission plugin: a new pod that does not already tolerate the
// node.kubernetes.io/not-ready and node.kubernetes.io/unreachable NoExecute
// taints gets tolerations for them with tolerationSeconds 300, so its
// pods are evicted five minutes after its node stops being ready, not at
// once.
package defaulttolerationseconds

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
)

// DefaultSeconds is upstream's --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds.
const DefaultSeconds int64 = 300

// Plugin is the DefaultTolerationSeconds admission plugin.
type Plugin struct {
	// NotReadySeconds and UnreachableSeconds are the tolerationSeconds
	// added; zero means DefaultSeconds.
	NotReadySeconds, UnreachableSeconds int64
}

var podsGR = schema.GroupResource{Resource: "pods"}

// Admit implements admission.Plugin: it defaults the tolerations of pods
// being created.
func (p *Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	if a.Resource == nil || a.Subresource != "" || a.Operation != admission.Create || a.Resource.GroupResource() != podsGR {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	for _, d := range []struct {
		key     string
		seconds int64
	}{
		{corev1.TaintNodeNotReady, p.NotReadySeconds},
		{corev1.TaintNodeUnreachable, p.UnreachableSeconds},
	} {
		if toleratesKey(pod.Spec.Tolerations, d.key) {
			continue
		}
		seconds := d.seconds
		if seconds == 0 {
			seconds = DefaultSeconds
		}
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: d.key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds,
		})
	}
	return nil
}

// toleratesKey reports whether a toleration already covers NoExecute taints
// with key (named, or every key), whatever its seconds, as upstream checks.
func toleratesKey(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}
