package plugins

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

const spreadPreScoreKey framework.StateKey = "PreScore" + PodTopologySpreadName

// spreadScoreState holds, per ScheduleAnyway constraint, the matching pod
// counts of the domains the feasible nodes are in, and the weight that
// normalizes constraints with many domains against ones with few.
type spreadScoreState struct {
	constraints []spreadConstraint
	ignored     map[string]struct{}
	counts      []map[string]int64
	weights     []float64
}

func (s *spreadScoreState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin.
func (p *PodTopologySpread) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	cs, err := p.constraints(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("parse topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	// With the system defaults a node missing a key is still scored on the
	// keys it has.
	requireAll := len(pod.Spec.TopologySpreadConstraints) > 0 || !p.systemDefaulted
	s := &spreadScoreState{constraints: cs, ignored: map[string]struct{}{},
		counts: make([]map[string]int64, len(cs)), weights: make([]float64, len(cs))}
	domains := make([]int, len(cs))
	for i := range cs {
		s.counts[i] = map[string]int64{}
	}
	for _, ni := range nodes {
		node := ni.Node()
		if requireAll && !nodeHasKeys(node, cs) {
			s.ignored[node.Name] = struct{}{}
			continue
		}
		for i, c := range cs {
			if c.TopologyKey == corev1.LabelHostname {
				domains[i]++
				continue
			}
			if v, ok := node.Labels[c.TopologyKey]; ok {
				if _, seen := s.counts[i][v]; !seen {
					s.counts[i][v] = 0
					domains[i]++
				}
			}
		}
	}
	for i := range cs {
		s.weights[i] = math.Log(float64(domains[i] + 2))
	}
	affinity := NewRequiredNodeAffinity(pod)
	if p.scanAll || !p.scoreCountIndexed(pod, s, requireAll, affinity) {
		p.scoreCountAll(pod, s, requireAll, affinity)
	}
	state.Write(spreadPreScoreKey, s)
	return nil
}

// scoreCountAll adds the matching pods of every node to the tracked domains.
func (p *PodTopologySpread) scoreCountAll(pod *corev1.Pod, s *spreadScoreState, requireAll bool, affinity RequiredNodeAffinity) {
	cs := s.constraints
	for _, ni := range p.h.Snapshot().List() {
		node := ni.Node()
		if requireAll && !nodeHasKeys(node, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.TopologyKey == corev1.LabelHostname {
				continue
			}
			v, ok := node.Labels[c.TopologyKey]
			if !ok {
				continue
			}
			if _, tracked := s.counts[i][v]; !tracked || !nodeCounts(c, pod, affinity, node) {
				continue
			}
			s.counts[i][v] += int64(countMatching(ni.Pods, &c.Selector, pod.Namespace))
		}
	}
}

// scoreCountIndexed is scoreCountAll through the label index, for pods
// without node affinity whose constraints use matchLabels selectors and
// ignore taints; false when that does not apply.
func (p *PodTopologySpread) scoreCountIndexed(pod *corev1.Pod, s *spreadScoreState, requireAll bool, affinity RequiredNodeAffinity) bool {
	if !affinity.Empty() {
		return false
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if pairs, ok := c.Selector.EqualityPairs(); !ok || len(pairs) == 0 || c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
			return false
		}
	}
	snap := p.h.Snapshot()
	for i := range s.constraints {
		c := &s.constraints[i]
		if c.TopologyKey == corev1.LabelHostname {
			continue
		}
		pairs, _ := c.Selector.EqualityPairs()
		for nodeName := range snap.PodsWithLabel(pod.Namespace, pairs[0][0], pairs[0][1]) {
			ni := snap.NodeInfoMap[nodeName]
			node := ni.Node()
			if requireAll && !nodeHasKeys(node, s.constraints) {
				continue
			}
			v, ok := node.Labels[c.TopologyKey]
			if !ok {
				continue
			}
			if _, tracked := s.counts[i][v]; tracked {
				s.counts[i][v] += int64(countMatching(ni.Pods, &c.Selector, pod.Namespace))
			}
		}
	}
	return true
}

// Score implements framework.ScorePlugin: the weighted number of matching
// pods in the node's domains (fewer is better; NormalizeScore reverses).
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := readState[*spreadScoreState](state, spreadPreScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	node := ni.Node()
	if _, ok := s.ignored[node.Name]; ok {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == corev1.LabelHostname {
			cnt = int64(countMatching(ni.Pods, &c.Selector, pod.Namespace))
		} else {
			cnt = s.counts[i][v]
		}
		score += float64(cnt)*s.weights[i] + float64(c.MaxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *PodTopologySpread) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions: the node with the
// fewest matching pods gets the highest score; ignored nodes get 0.
func (p *PodTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := readState[*spreadScoreState](state, spreadPreScoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if _, ok := s.ignored[sc.Name]; ok {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		if _, ok := s.ignored[scores[i].Name]; ok {
			scores[i].Score = 0
			continue
		}
		if hi == 0 {
			scores[i].Score = framework.MaxNodeScore
			continue
		}
		scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
	}
	return nil
}
