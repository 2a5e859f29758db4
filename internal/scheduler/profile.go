package scheduler

import (
	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
)

// DefaultProfile is the whole placement pipeline: the plugins in the order
// they run at each extension point (PreFilter/Filter, PostFilter,
// PreScore/Score, Bind), with their score weights.
func DefaultProfile(schedulerName string) framework.Profile {
	return framework.Profile{SchedulerName: schedulerName, Plugins: []framework.PluginSpec{
		{Name: plugins.NodeUnschedulableName},             // filter: skip cordoned nodes unless tolerated
		{Name: plugins.NodeNameName},                      // filter: honour spec.nodeName
		{Name: plugins.TaintTolerationName, Weight: 3},    // filter: NoSchedule/NoExecute taints; score: PreferNoSchedule
		{Name: plugins.NodeAffinityName, Weight: 2},       // filter: nodeSelector + required affinity; score: preferred
		{Name: plugins.NodePortsName},                     // filter: host ports must be free
		{Name: plugins.NodeResourcesFitName, Weight: 1},   // filter: requests fit allocatable; score: LeastAllocated
		{Name: plugins.PodTopologySpreadName, Weight: 2},  // filter: DoNotSchedule skew; score: ScheduleAnyway skew
		{Name: plugins.InterPodAffinityName, Weight: 2},   // filter: required (anti-)affinity; score: preferred
		{Name: plugins.DefaultPreemptionName},             // postFilter: evict lower-priority pods to make room
		{Name: plugins.BalancedAllocationName, Weight: 1}, // score: balanced cpu/memory use
		{Name: plugins.ImageLocalityName, Weight: 1},      // score: images already on the node
		{Name: plugins.DefaultBinderName},                 // bind: POST pods/binding
	}}
}
