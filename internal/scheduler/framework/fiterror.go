package framework

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// NodeToStatus maps node names to the status that rejected the pod there.
type NodeToStatus map[string]*Status

// ErrNoNodesAvailable: the cluster has no nodes.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Diagnosis explains a failed scheduling cycle.
type Diagnosis struct {
	NodeToStatus NodeToStatus
	// UnschedulablePlugins rejected the pod on some node; the queue retries
	// the pod on the events they registered.
	UnschedulablePlugins sets.Set[string]
	// PreFilterMsg is set when a PreFilter rejected the pod for all nodes.
	PreFilterMsg string
	// PostFilterMsg is what preemption said.
	PostFilterMsg string
}

// FitError is "no node fits", with the reasons per node; its message is
// the one users read in the FailedScheduling event and the PodScheduled
// condition.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error renders the upstream message, e.g.
//
//	0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
//	taint {key: value}. preemption: 0/3 nodes are available: 3 Preemption
//	is not helpful for scheduling.
func (f *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", f.NumAllNodes)
	if f.Diagnosis.PreFilterMsg != "" {
		msg += sentence(f.Diagnosis.PreFilterMsg)
	} else if h := ReasonHistogram(f.Diagnosis.NodeToStatus); h != "" {
		msg += sentence(h)
	}
	if f.Diagnosis.PostFilterMsg != "" {
		msg += sentence(f.Diagnosis.PostFilterMsg)
	}
	return msg
}

// sentence renders " s." without doubling a final period.
func sentence(s string) string {
	return " " + strings.TrimSuffix(s, ".") + "."
}

// ReasonHistogram counts each reason over the nodes and renders
// "N reason" items sorted as strings, comma separated (as upstream).
func ReasonHistogram(statuses NodeToStatus) string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	items := make([]string, 0, len(counts))
	for r, n := range counts {
		items = append(items, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(items)
	return strings.Join(items, ", ")
}
