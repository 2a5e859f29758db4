package framework

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// ExtensionPoint is a bit set of extension points.
type ExtensionPoint uint

// Extension points a plugin may be enabled or disabled at.
const (
	PointPreFilter ExtensionPoint = 1 << iota
	PointFilter
	PointPostFilter
	PointPreScore
	PointScore
	PointReserve
	PointPermit
	PointBind
	AllPoints = PointPreFilter | PointFilter | PointPostFilter | PointPreScore | PointScore | PointReserve | PointPermit | PointBind
)

// PointNames maps the config file's names of extension points to bits.
var PointNames = map[string]ExtensionPoint{
	"preFilter": PointPreFilter, "filter": PointFilter, "postFilter": PointPostFilter,
	"preScore": PointPreScore, "score": PointScore, "reserve": PointReserve,
	"permit": PointPermit, "bind": PointBind,
}

// PluginSpec is one plugin of a profile.
type PluginSpec struct {
	Name string
	// Weight multiplies the plugin's normalized score (0 means 1).
	Weight int32
	// Disabled lists the extension points the plugin is switched off at.
	Disabled ExtensionPoint
	// Args are the plugin's arguments (the pluginConfig args, as JSON).
	Args json.RawMessage
}

// Profile is a scheduler name and the plugins it runs, in order.
type Profile struct {
	SchedulerName string
	Plugins       []PluginSpec
	// PercentageOfNodesToScore bounds how many feasible nodes a cycle
	// looks for; 0 adapts it to the cluster size like upstream.
	PercentageOfNodesToScore int32
}

// Plugin returns the spec named name, or nil.
func (p *Profile) Plugin(name string) *PluginSpec {
	for i := range p.Plugins {
		if p.Plugins[i].Name == name {
			return &p.Plugins[i]
		}
	}
	return nil
}

// Factory builds a plugin from its arguments.
type Factory func(args json.RawMessage, h Handle) (Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]Factory

// PodNominator knows which pending pods were promised room on a node by
// preemption.
type PodNominator interface {
	NominatedPodsForNode(nodeName string) []*PodInfo
	// Len is the number of nominated pods.
	Len() int
}

// Env is what the scheduler gives every framework.
type Env struct {
	Client    kubernetes.Interface
	Recorder  record.EventRecorder
	Informers informers.SharedInformerFactory
	// Snapshot is refreshed in place before each cycle.
	Snapshot    *Snapshot
	Nominator   PodNominator
	Parallelism int
}

// Handle is what plugins may use: the snapshot, API access and the
// framework's own runners (for preemption's "what if" evaluation).
type Handle interface {
	SchedulerName() string
	Snapshot() *Snapshot
	ClientSet() kubernetes.Interface
	EventRecorder() record.EventRecorder
	SharedInformerFactory() informers.SharedInformerFactory
	Parallelizer() Parallelizer
	RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
	// WaitingPod returns a pod held by a Permit plugin, or nil.
	WaitingPod(uid string) *WaitingPod
	// NominatedPodsForNode lists the pending pods nominated to a node.
	NominatedPodsForNode(nodeName string) []*PodInfo
}

func errUnknownPlugin(name string) error {
	return fmt.Errorf("unknown plugin %q", name)
}
