// Package plugins holds the scheduler's filter and score plugins, one per
// file, each with the constant reason strings users read in events.
package plugins

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// tolerates reports whether toleration t tolerates taint.
func tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		return t.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// toleratesTaint reports whether any toleration tolerates taint.
func toleratesTaint(tols []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tols {
		if tolerates(&tols[i], taint) {
			return true
		}
	}
	return false
}

// firstUntoleratedTaint returns the first taint with an effect accepted by
// inEffects that tols do not tolerate.
func firstUntoleratedTaint(taints []corev1.Taint, tols []corev1.Toleration, inEffects func(corev1.TaintEffect) bool) (*corev1.Taint, bool) {
	for i := range taints {
		if inEffects != nil && !inEffects(taints[i].Effect) {
			continue
		}
		if !toleratesTaint(tols, &taints[i]) {
			return &taints[i], true
		}
	}
	return nil, false
}

// nodeSelectorTerm is a parsed NodeSelectorTerm.
type nodeSelectorTerm struct {
	labels labels.Selector
	// fields are requirements on metadata.name.
	fields []nameRequirement
	valid  bool
}

// nameRequirement is metadata.name In/NotIn names.
type nameRequirement struct {
	in    bool
	names sets.Set[string]
}

func parseFields(reqs []corev1.NodeSelectorRequirement) ([]nameRequirement, error) {
	out := make([]nameRequirement, 0, len(reqs))
	for _, r := range reqs {
		if r.Key != "metadata.name" || (r.Operator != corev1.NodeSelectorOpIn && r.Operator != corev1.NodeSelectorOpNotIn) || len(r.Values) != 1 {
			return nil, fmt.Errorf("unsupported node field selector %s %s %v", r.Key, r.Operator, r.Values)
		}
		out = append(out, nameRequirement{in: r.Operator == corev1.NodeSelectorOpIn, names: sets.New(r.Values...)})
	}
	return out, nil
}

// nodeSelector is a parsed NodeSelector: its terms are ORed.
type nodeSelector []nodeSelectorTerm

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
	corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
}

func parseRequirements(reqs []corev1.NodeSelectorRequirement) (labels.Selector, error) {
	sel := labels.NewSelector()
	for _, r := range reqs {
		op, ok := nodeSelectorOps[r.Operator]
		if !ok {
			return nil, fmt.Errorf("%q is not a valid node selector operator", r.Operator)
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*req)
	}
	return sel, nil
}

// newNodeSelector parses ns; a term that does not parse matches nothing.
func newNodeSelector(ns *corev1.NodeSelector) nodeSelector {
	out := make(nodeSelector, 0, len(ns.NodeSelectorTerms))
	for _, t := range ns.NodeSelectorTerms {
		var term nodeSelectorTerm
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			out = append(out, term) // matches nothing
			continue
		}
		var err1, err2 error
		term.labels, err1 = parseRequirements(t.MatchExpressions)
		term.fields, err2 = parseFields(t.MatchFields)
		term.valid = err1 == nil && err2 == nil
		out = append(out, term)
	}
	return out
}

// Match reports whether node satisfies any term.
func (s nodeSelector) Match(node *corev1.Node) bool {
	for i := range s {
		t := &s[i]
		if !t.valid {
			continue
		}
		if !t.labels.Matches(labels.Set(node.Labels)) {
			continue
		}
		if !matchName(t.fields, node.Name) {
			continue
		}
		return true
	}
	return false
}

func matchName(reqs []nameRequirement, name string) bool {
	for _, r := range reqs {
		if r.names.Has(name) != r.in {
			return false
		}
	}
	return true
}

// RequiredNodeAffinity is a pod's nodeSelector and required node affinity.
type RequiredNodeAffinity struct {
	selector labels.Selector
	affinity nodeSelector
	// key identifies the constraints (equal keys, equal constraints).
	key string
}

// NewRequiredNodeAffinity parses the pod's node constraints.
func NewRequiredNodeAffinity(pod *corev1.Pod) RequiredNodeAffinity {
	var r RequiredNodeAffinity
	var key strings.Builder
	if len(pod.Spec.NodeSelector) > 0 {
		r.selector = labels.SelectorFromSet(pod.Spec.NodeSelector)
		for _, k := range slices.Sorted(maps.Keys(pod.Spec.NodeSelector)) {
			v := pod.Spec.NodeSelector[k]
			fmt.Fprintf(&key, "%d:%s%d:%s", len(k), k, len(v), v)
		}
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ns := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		r.affinity = newNodeSelector(ns)
		// NodeSelector has no maps: its encoding is deterministic.
		b, err := ns.Marshal()
		if err != nil {
			return r // no key: never cached
		}
		key.WriteString("|")
		key.Write(b)
	}
	r.key = key.String()
	return r
}

// matchingNodes returns which nodes of snap r matches, or nil when the
// snapshot does not keep that for r (see framework.Snapshot.NodeMatches).
func (r RequiredNodeAffinity) matchingNodes(snap *framework.Snapshot) *framework.NodeMatches {
	if r.Empty() || r.key == "" || snap == nil {
		return nil
	}
	return snap.NodeMatches(r.key, r.Match)
}

// matchNode is r.Match(ni.Node()), answered from set when it covers ni.
func (r RequiredNodeAffinity) matchNode(set *framework.NodeMatches, ni *framework.NodeInfo) bool {
	if m, ok := set.Matched(ni); ok {
		return m
	}
	return r.Match(ni.Node())
}

// Empty reports a pod without node constraints.
func (r RequiredNodeAffinity) Empty() bool { return r.selector == nil && r.affinity == nil }

// Match reports whether node satisfies both the nodeSelector and the
// required node affinity.
func (r RequiredNodeAffinity) Match(node *corev1.Node) bool {
	if r.selector != nil && !r.selector.Matches(labels.Set(node.Labels)) {
		return false
	}
	if r.affinity != nil && !r.affinity.Match(node) {
		return false
	}
	return true
}

// defaultNormalizeScore scales scores to [0, maxScore] by the highest
// score; reverse flips them (fewer is better).
func defaultNormalizeScore(maxScore int64, reverse bool, scores []framework.NodeScore) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxScore
			}
		}
		return
	}
	for i := range scores {
		s := maxScore * scores[i].Score / highest
		if reverse {
			s = maxScore - s
		}
		scores[i].Score = s
	}
}

// readState reads a plugin's state of type T.
func readState[T framework.StateData](state *framework.CycleState, key framework.StateKey) (T, error) {
	var zero T
	d, err := state.Read(key)
	if err != nil {
		return zero, err
	}
	v, ok := d.(T)
	if !ok {
		return zero, fmt.Errorf("state %s has type %T", key, d)
	}
	return v, nil
}
