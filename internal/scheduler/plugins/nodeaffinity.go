package plugins

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// NodeAffinityName is the plugin's name.
const NodeAffinityName = "NodeAffinity"

// ErrReasonNodeAffinity is the NodeAffinity rejection.
const ErrReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"

// NodeAffinity enforces spec.nodeSelector and required node affinity, and
// scores nodes by the weights of the preferred terms they match. Pods
// sharing constraints (a workload's replicas) read which nodes match from
// the snapshot instead of every node's labels.
type NodeAffinity struct{ h framework.Handle }

// NewNodeAffinity is the plugin's factory; it takes no arguments
// (addedAffinity is not supported).
func NewNodeAffinity(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	var a struct{}
	if err := framework.PluginArgs(args, &a); err != nil {
		return nil, err
	}
	return &NodeAffinity{h: h}, nil
}

// Name implements framework.Plugin.
func (*NodeAffinity) Name() string { return NodeAffinityName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}}
}

const (
	nodeAffinityPreFilterKey framework.StateKey = "PreFilter" + NodeAffinityName
	nodeAffinityPreScoreKey  framework.StateKey = "PreScore" + NodeAffinityName
)

type nodeAffinityState struct {
	required RequiredNodeAffinity
	// matching is which nodes match required (nil: match each node).
	matching *framework.NodeMatches
}

func (s *nodeAffinityState) Clone() framework.StateData { return s }

// PreFilter implements framework.PreFilterPlugin; pods without node
// constraints skip the filter.
func (p *NodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	r := NewRequiredNodeAffinity(pod)
	if r.Empty() {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(nodeAffinityPreFilterKey, &nodeAffinityState{required: r, matching: r.matchingNodes(p.snapshot())})
	return nil, nil
}

// snapshot is the cycle's snapshot; nil without a handle (tests).
func (p *NodeAffinity) snapshot() *framework.Snapshot {
	if p.h == nil {
		return nil
	}
	return p.h.Snapshot()
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*NodeAffinity) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (*NodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*nodeAffinityState](state, nodeAffinityPreFilterKey)
	if err != nil {
		// Called without PreFilter (preemption of a nominated pod): parse now.
		s = &nodeAffinityState{required: NewRequiredNodeAffinity(pod)}
	}
	if !s.required.matchNode(s.matching, ni) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return nil
}

type preferredNodeTerm struct {
	weight int64
	term   nodeSelector
}

type nodeAffinityScoreState []preferredNodeTerm

func (s nodeAffinityScoreState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin.
func (*NodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	var terms nodeAffinityScoreState
	for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if t.Weight == 0 {
			continue
		}
		sel := newNodeSelector(&corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{t.Preference}})
		terms = append(terms, preferredNodeTerm{weight: int64(t.Weight), term: sel})
	}
	state.Write(nodeAffinityPreScoreKey, terms)
	return nil
}

// Score implements framework.ScorePlugin: the sum of the weights of the
// preferred terms the node matches.
func (*NodeAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	terms, err := readState[nodeAffinityScoreState](state, nodeAffinityPreScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var score int64
	for _, t := range terms {
		if t.term.Match(ni.Node()) {
			score += t.weight
		}
	}
	return score, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *NodeAffinity) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	defaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}
