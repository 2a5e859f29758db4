// Package framework defines the scheduler's plugin API (extension points,
// statuses, cycle state) and the data the plugins decide on (NodeInfo,
// PodInfo, Snapshot), and runs a profile's plugins (Framework).
package framework

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a Score plugin gives after
// normalization; MinNodeScore the lowest.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Plugin is a named scheduling plugin; it implements one or more of the
// extension point interfaces below.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes to consider; nil NodeNames means all.
type PreFilterResult struct {
	NodeNames map[string]struct{}
}

// PreFilterPlugin computes per-pod state before filtering. Returning Skip
// skips the plugin's Filter for this pod; a rejection rejects every node.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod) (*PreFilterResult, *Status)
	// PreFilterExtensions updates the state when preemption adds or
	// removes pods; nil when the state does not depend on other pods.
	PreFilterExtensions() PreFilterExtensions
}

// PreFilterExtensions keep a PreFilter state right in "what if" evaluation.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
}

// FilterPlugin decides whether the pod fits on one node. It runs in
// parallel over nodes and must only read state.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
}

// PostFilterResult is what PostFilter proposes: a node to nominate.
type PostFilterResult struct {
	NominatedNodeName string
	// Clear asks to clear a previous nomination.
	Clear bool
}

// PostFilterPlugin runs when no node fits (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin computes per-pod state before scoring the feasible nodes;
// Skip skips the plugin's Score for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// ScorePlugin ranks a feasible node; runs in parallel over nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) (int64, *Status)
	// ScoreExtensions normalizes the scores to [MinNodeScore,
	// MaxNodeScore]; nil when Score already does.
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions normalizes one plugin's scores of all feasible nodes.
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// ReservePlugin is told when the pod is assumed on a node (Reserve) and
// when that is undone (Unreserve, in reverse order).
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// PermitPlugin may allow, reject or hold (Wait, up to the returned
// timeout) the binding of a pod.
type PermitPlugin interface {
	Plugin
	Permit(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) (*Status, time.Duration)
}

// BindPlugin binds the pod; Skip passes to the next binder.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// EnqueueExtensions are the cluster events after which a pod this plugin
// rejected may fit; the queue retries such pods on these events only.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEvent
}
