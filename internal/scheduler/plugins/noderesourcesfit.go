package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// NodeResourcesFitName is the plugin's name.
const NodeResourcesFitName = "NodeResourcesFit"

// ErrReasonTooManyPods is the rejection when the node's pod count is full.
const ErrReasonTooManyPods = "Too many pods"

// Scoring strategies of NodeResourcesFit.
const (
	LeastAllocated = "LeastAllocated"
	MostAllocated  = "MostAllocated"
)

// NodeResourcesFitArgs are the plugin's arguments (pluginConfig args).
type NodeResourcesFitArgs struct {
	// IgnoredResources are extended resources the filter does not check.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
	// IgnoredResourceGroups are prefixes ("example.com") of ignored resources.
	IgnoredResourceGroups []string         `json:"ignoredResourceGroups,omitempty"`
	ScoringStrategy       *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// ScoringStrategy picks how free room is scored.
type ScoringStrategy struct {
	Type      string         `json:"type,omitempty"`
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// ResourceSpec is a resource and its weight in a score.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// defaultScoringResources are cpu and memory, weight 1 each.
func defaultScoringResources() []ResourceSpec {
	return []ResourceSpec{{Name: string(corev1.ResourceCPU), Weight: 1}, {Name: string(corev1.ResourceMemory), Weight: 1}}
}

// NodeResourcesFit rejects nodes whose allocatable cannot hold the pod's
// requests next to the pods already there (cpu, memory,
// ephemeral-storage, extended resources, pod count), and scores the free
// room (LeastAllocated by default, or MostAllocated).
type NodeResourcesFit struct {
	ignored       sets.Set[string]
	ignoredGroups []string
	scorer        resourceScorer
}

// NewNodeResourcesFit is the plugin's factory.
func NewNodeResourcesFit(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	args := NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated}}
	if err := framework.PluginArgs(raw, &args); err != nil {
		return nil, err
	}
	s := args.ScoringStrategy
	if s == nil {
		s = &ScoringStrategy{Type: LeastAllocated}
	}
	resources := s.Resources
	if len(resources) == 0 {
		resources = defaultScoringResources()
	}
	for i := range resources {
		if resources[i].Weight == 0 {
			resources[i].Weight = 1
		}
		if resources[i].Weight < 0 || resources[i].Weight > 100 {
			return nil, fmt.Errorf("scoringStrategy.resources[%d].weight: %d must be in the range [1, 100]", i, resources[i].Weight)
		}
	}
	var fn func(requested, capacity int64) int64
	switch s.Type {
	case LeastAllocated, "":
		fn = leastRequestedScore
	case MostAllocated:
		fn = mostRequestedScore
	default:
		return nil, fmt.Errorf("scoringStrategy.type: unsupported value %q: supported values are %q, %q", s.Type, LeastAllocated, MostAllocated)
	}
	return &NodeResourcesFit{
		ignored:       sets.New(args.IgnoredResources...),
		ignoredGroups: args.IgnoredResourceGroups,
		scorer:        resourceScorer{resources: resources, score: fn, nonZero: true},
	}, nil
}

// Name implements framework.Plugin.
func (*NodeResourcesFit) Name() string { return NodeResourcesFitName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeResourcesFit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.Delete | framework.UpdatePodScaleDown},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeAllocatable},
	}
}

const nodeResourcesFitKey framework.StateKey = "PreFilter" + NodeResourcesFitName

type podRequests struct{ framework.Resource }

func (r *podRequests) Clone() framework.StateData { return r }

// PreFilter implements framework.PreFilterPlugin.
func (*NodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	state.Write(nodeResourcesFitKey, &podRequests{framework.PodRequests(pod, nil)})
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*NodeResourcesFit) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (f *NodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	req, err := readState[*podRequests](state, nodeResourcesFitKey)
	if err != nil {
		req = &podRequests{framework.PodRequests(pod, nil)}
	}
	reasons, unresolvable := f.insufficient(&req.Resource, ni)
	if len(reasons) == 0 {
		return nil
	}
	code := framework.Unschedulable
	if unresolvable {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reasons...)
}

// insufficient lists the reasons the pod does not fit; unresolvable is set
// when a request exceeds the node's whole allocatable (evicting pods
// cannot help).
func (f *NodeResourcesFit) insufficient(req *framework.Resource, ni *framework.NodeInfo) ([]string, bool) {
	var reasons []string
	unresolvable := false
	alloc, used := &ni.Allocatable, &ni.Requested
	if int64(len(ni.Pods))+1 > alloc.AllowedPodNumber {
		reasons = append(reasons, ErrReasonTooManyPods)
	}
	check := func(name string, want, have, inUse int64) {
		if want > 0 && want > have-inUse {
			reasons = append(reasons, "Insufficient "+name)
			unresolvable = unresolvable || want > have
		}
	}
	check(string(corev1.ResourceCPU), req.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	check(string(corev1.ResourceMemory), req.Memory, alloc.Memory, used.Memory)
	check(string(corev1.ResourceEphemeralStorage), req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	if len(req.Scalar) == 0 {
		return reasons, unresolvable // ranging over even an empty map costs
	}
	for name, want := range req.Scalar {
		if f.isIgnored(string(name)) {
			continue
		}
		check(string(name), want, alloc.Scalar[name], used.Scalar[name])
	}
	return reasons, unresolvable
}

func (f *NodeResourcesFit) isIgnored(name string) bool {
	if f.ignored.Has(name) {
		return true
	}
	for _, g := range f.ignoredGroups {
		if prefix, _, ok := strings.Cut(name, "/"); ok && prefix == g {
			return true
		}
	}
	return false
}

const nodeResourcesScoreKey framework.StateKey = "PreScore" + NodeResourcesFitName

// PreScore implements framework.PreScorePlugin.
func (*NodeResourcesFit) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(nodeResourcesScoreKey, newScoringRequests(pod))
	return nil
}

// Score implements framework.ScorePlugin.
func (f *NodeResourcesFit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	req, err := readState[*scoringRequests](state, nodeResourcesScoreKey)
	if err != nil {
		req = newScoringRequests(pod)
	}
	return f.scorer.scoreNode(req, ni), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (*NodeResourcesFit) ScoreExtensions() framework.ScoreExtensions { return nil }
