package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// NodeNameName is the plugin's name.
const NodeNameName = "NodeName"

// ErrReasonNodeName is the NodeName rejection.
const ErrReasonNodeName = "node(s) didn't match the requested node name"

// NodeName admits only the node a pod names in spec.nodeName.
type NodeName struct{}

// NewNodeName is the plugin's factory.
func NewNodeName(json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodeName{}, nil
}

// Name implements framework.Plugin.
func (*NodeName) Name() string { return NodeNameName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeName) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add}}
}

// Filter implements framework.FilterPlugin.
func (*NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != ni.Name() {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeName)
	}
	return nil
}
