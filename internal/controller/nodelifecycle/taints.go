package nodelifecycle

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// taintKey is a taint's identity: its key and effect.
type taintKey struct {
	key    string
	effect corev1.TaintEffect
}

// conditionTaints maps a condition being True to the NoSchedule taint it
// brings.
var conditionTaints = []struct {
	cond corev1.NodeConditionType
	key  string
}{
	{corev1.NodeMemoryPressure, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.TaintNodeDiskPressure},
	{corev1.NodePIDPressure, corev1.TaintNodePIDPressure},
	{corev1.NodeNetworkUnavailable, corev1.TaintNodeNetworkUnavailable},
}

// managedTaints are the taints this controller adds and removes; every
// other taint on a node is left alone.
func managedTaints() map[taintKey]bool {
	m := map[taintKey]bool{
		{corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule}:      true,
		{corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute}:       true,
		{corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule}:   true,
		{corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute}:    true,
		{corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule}: true,
	}
	for _, ct := range conditionTaints {
		m[taintKey{ct.key, corev1.TaintEffectNoSchedule}] = true
	}
	return m
}

// desiredTaints are the managed taints node's conditions and spec call for:
//
//	Ready missing (new node)         not-ready:NoSchedule
//	Ready False                      not-ready:NoSchedule, not-ready:NoExecute
//	Ready Unknown                    unreachable:NoSchedule, unreachable:NoExecute
//	MemoryPressure/DiskPressure/     memory-pressure/disk-pressure/
//	PIDPressure/NetworkUnavailable     pid-pressure/network-unavailable:NoSchedule
//	  True
//	spec.unschedulable               unschedulable:NoSchedule
func desiredTaints(node *corev1.Node) map[taintKey]bool {
	want := map[taintKey]bool{}
	ready := nodeCondition(node, corev1.NodeReady)
	switch {
	case ready == nil:
		want[taintKey{corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule}] = true
	case ready.Status == corev1.ConditionFalse:
		want[taintKey{corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule}] = true
		want[taintKey{corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute}] = true
	case ready.Status == corev1.ConditionUnknown:
		want[taintKey{corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule}] = true
		want[taintKey{corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute}] = true
	}
	for _, ct := range conditionTaints {
		if c := nodeCondition(node, ct.cond); c != nil && c.Status == corev1.ConditionTrue {
			want[taintKey{ct.key, corev1.TaintEffectNoSchedule}] = true
		}
	}
	if node.Spec.Unschedulable {
		want[taintKey{corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule}] = true
	}
	return want
}

// syncTaints makes node's managed taints the desired ones in one update,
// so not-ready and unreachable swap atomically. NoExecute taints carry the
// time they were added, which the taint eviction controller counts from.
func (c *Controller) syncTaints(ctx context.Context, node *corev1.Node) error {
	managed, want := managedTaints(), desiredTaints(node)
	var taints []corev1.Taint
	have := map[taintKey]bool{}
	changed := false
	for _, t := range node.Spec.Taints {
		k := taintKey{t.Key, t.Effect}
		if managed[k] && !want[k] {
			changed = true
			continue
		}
		have[k] = true
		taints = append(taints, t)
	}
	now := metav1.NewTime(c.now())
	for _, k := range sortedKeys(want) {
		if have[k] {
			continue
		}
		t := corev1.Taint{Key: k.key, Effect: k.effect}
		if k.effect == corev1.TaintEffectNoExecute {
			t.TimeAdded = &now
		}
		taints = append(taints, t)
		changed = true
	}
	if !changed {
		return nil
	}
	out := node.DeepCopy()
	out.Spec.Taints = taints
	if _, err := c.client.CoreV1().Nodes().Update(ctx, out, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update taints of node %s: %w", node.Name, err)
	}
	c.log.Info("node taints updated", "node", node.Name, "taints", taintStrings(taints))
	return nil
}

// sortedKeys returns keys NoSchedule first, then by key, so taints are
// added in a stable order.
func sortedKeys(m map[taintKey]bool) []taintKey {
	var out []taintKey
	for _, effect := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
		for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeUnschedulable,
			corev1.TaintNodeMemoryPressure, corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure, corev1.TaintNodeNetworkUnavailable} {
			if m[taintKey{key, effect}] {
				out = append(out, taintKey{key, effect})
			}
		}
	}
	return out
}

func taintStrings(taints []corev1.Taint) []string {
	out := make([]string, 0, len(taints))
	for _, t := range taints {
		out = append(out, t.ToString())
	}
	return out
}
