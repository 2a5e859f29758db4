package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// NodeUnschedulableName is the plugin's name.
const NodeUnschedulableName = "NodeUnschedulable"

// ErrReasonUnschedulable is the NodeUnschedulable rejection.
const ErrReasonUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable rejects cordoned nodes (spec.unschedulable) unless the
// pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

// NewNodeUnschedulable is the plugin's factory.
func NewNodeUnschedulable(json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodeUnschedulable{}, nil
}

// Name implements framework.Plugin.
func (*NodeUnschedulable) Name() string { return NodeUnschedulableName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeUnschedulable) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeTaint}}
}

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// Filter implements framework.FilterPlugin.
func (*NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if ni.Unschedulable() && !toleratesTaint(pod.Spec.Tolerations, &unschedulableTaint) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
	}
	return nil
}
