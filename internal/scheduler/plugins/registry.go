package plugins

import "github.com/skiffhq/skiff/internal/scheduler/framework"

// NewRegistry returns the factories of every built-in plugin by name.
func NewRegistry() framework.Registry {
	return framework.Registry{
		NodeNameName:           NewNodeName,
		NodeUnschedulableName:  NewNodeUnschedulable,
		NodeResourcesFitName:   NewNodeResourcesFit,
		NodeAffinityName:       NewNodeAffinity,
		TaintTolerationName:    NewTaintToleration,
		NodePortsName:          NewNodePorts,
		PodTopologySpreadName:  NewPodTopologySpread,
		InterPodAffinityName:   NewInterPodAffinity,
		BalancedAllocationName: NewBalancedAllocation,
		ImageLocalityName:      NewImageLocality,
		DefaultPreemptionName:  NewDefaultPreemption,
		DefaultBinderName:      NewDefaultBinder,
	}
}
