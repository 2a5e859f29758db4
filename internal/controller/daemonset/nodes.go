package daemonset

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Taint keys of node conditions, upstream's.
const (
	taintNotReady           = "node.kubernetes.io/not-ready"
	taintUnreachable        = "node.kubernetes.io/unreachable"
	taintDiskPressure       = "node.kubernetes.io/disk-pressure"
	taintMemoryPressure     = "node.kubernetes.io/memory-pressure"
	taintPIDPressure        = "node.kubernetes.io/pid-pressure"
	taintUnschedulable      = "node.kubernetes.io/unschedulable"
	taintNetworkUnavailable = "node.kubernetes.io/network-unavailable"
)

// daemonTolerations are added to every daemon pod, so that it runs on
// nodes with these conditions and is not evicted from a node that becomes
// not ready or unreachable.
func daemonTolerations(spec *corev1.PodSpec) []corev1.Toleration {
	tol := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	out := []corev1.Toleration{
		tol(taintNotReady, corev1.TaintEffectNoExecute),
		tol(taintUnreachable, corev1.TaintEffectNoExecute),
		tol(taintDiskPressure, corev1.TaintEffectNoSchedule),
		tol(taintMemoryPressure, corev1.TaintEffectNoSchedule),
		tol(taintPIDPressure, corev1.TaintEffectNoSchedule),
		tol(taintUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if spec.HostNetwork {
		out = append(out, tol(taintNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	return out
}

// addTolerations adds the daemon tolerations spec lacks.
func addTolerations(spec *corev1.PodSpec) {
	for _, t := range daemonTolerations(spec) {
		if !slices.ContainsFunc(spec.Tolerations, func(x corev1.Toleration) bool { return x.MatchToleration(&t) }) {
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
}

// nodeAffinityFor replaces a's required node affinity by "metadata.name
// In [node]": the daemon set has already checked the node against it, and
// the scheduler places the pod on exactly that node.
func nodeAffinityFor(a *corev1.Affinity, node string) *corev1.Affinity {
	term := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
		Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
	}}}
	if a == nil {
		a = &corev1.Affinity{}
	}
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}
	return a
}

// targetNode returns the node a daemon pod is for: its nodeName, or the
// one its node affinity names; "" when neither says.
func targetNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, r := range t.MatchFields {
			if r.Key == metav1.ObjectNameField && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}

// placement says whether a daemon pod should run on a node, and whether
// one already there may stay.
type placement struct{ shouldRun, mayContinue bool }

// placeOn decides ds's placement on node like upstream: the template's
// nodeName, nodeSelector and required node affinity must match; a taint
// with effect NoSchedule or NoExecute the pod (with the daemon
// tolerations) does not tolerate keeps new pods off, and only an
// untolerated NoExecute taint evicts existing ones. Node readiness counts
// through its taints (not-ready, unreachable), as upstream.
func placeOn(ds *appsv1.DaemonSet, node *corev1.Node) placement {
	spec := &ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return placement{}
	}
	if !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return placement{}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		if !matchNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, node) {
			return placement{}
		}
	}
	tols := append(slices.Clone(spec.Tolerations), daemonTolerations(spec)...)
	blocking, evicting := false, false
	for i := range node.Spec.Taints {
		taint := &node.Spec.Taints[i]
		if taint.Effect != corev1.TaintEffectNoSchedule && taint.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if slices.ContainsFunc(tols, func(t corev1.Toleration) bool { return t.ToleratesTaint(taint) }) {
			continue
		}
		blocking = true
		evicting = evicting || taint.Effect == corev1.TaintEffectNoExecute
	}
	return placement{shouldRun: !blocking, mayContinue: !evicting}
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
	corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
}

// matchNodeSelector reports whether node satisfies any term of ns (terms
// are ORed, requirements within a term ANDed; an empty or invalid term
// matches nothing).
func matchNodeSelector(ns *corev1.NodeSelector, node *corev1.Node) bool {
	for _, t := range ns.NodeSelectorTerms {
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue
		}
		if matchRequirements(t.MatchExpressions, node.Labels) && matchRequirements(t.MatchFields, fields(node)) {
			return true
		}
	}
	return false
}

func fields(node *corev1.Node) map[string]string {
	return map[string]string{metav1.ObjectNameField: node.Name}
}

func matchRequirements(reqs []corev1.NodeSelectorRequirement, set map[string]string) bool {
	for _, r := range reqs {
		op, ok := nodeSelectorOps[r.Operator]
		if !ok {
			return false
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil || !req.Matches(labels.Set(set)) {
			return false
		}
	}
	return true
}
