package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// NodePortsName is the plugin's name.
const NodePortsName = "NodePorts"

// ErrReasonNodePorts is the NodePorts rejection.
const ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"

// NodePorts rejects nodes where a host port the pod asks for is taken
// (same protocol and port on the same host IP or on 0.0.0.0).
type NodePorts struct{}

// NewNodePorts is the plugin's factory.
func NewNodePorts(json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &NodePorts{}, nil
}

// Name implements framework.Plugin.
func (*NodePorts) Name() string { return NodePortsName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodePorts) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.Delete | framework.UpdatePodScaleDown},
		{Resource: framework.Node, ActionType: framework.Add},
	}
}

const nodePortsKey framework.StateKey = "PreFilter" + NodePortsName

type wantedPorts []corev1.ContainerPort

func (w wantedPorts) Clone() framework.StateData { return w }

func hostPortsOf(pod *corev1.Pod) wantedPorts {
	var out wantedPorts
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// PreFilter implements framework.PreFilterPlugin; pods without host ports
// skip the filter.
func (*NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	ports := hostPortsOf(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(nodePortsKey, ports)
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*NodePorts) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (*NodePorts) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	ports, err := readState[wantedPorts](state, nodePortsKey)
	if err != nil {
		ports = hostPortsOf(pod)
	}
	for _, p := range ports {
		if ni.UsedPorts.CheckConflict(p.HostIP, p.Protocol, p.HostPort) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonNodePorts)
		}
	}
	return nil
}
