package plugins

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

const ipaPreScoreKey framework.StateKey = "PreScore" + InterPodAffinityName

// topologyScore sums term weights per topology key and value.
type topologyScore map[string]map[string]int64

func (t topologyScore) add(node *corev1.Node, key string, w int64) {
	v, ok := node.Labels[key]
	if !ok || w == 0 {
		return
	}
	if t[key] == nil {
		t[key] = map[string]int64{}
	}
	t[key][v] += w
}

type ipaScoreState struct {
	scores topologyScore
}

func (s *ipaScoreState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin: it sums, per domain, the
// weights of the incoming pod's preferred terms that select existing
// pods there, and of existing pods' terms that select the incoming pod.
func (p *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	pi, err := p.incomingPodInfo(pod)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("parse pod affinity: %w", err))
	}
	snap := p.h.Snapshot()
	hasPreferred := len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
	existing := !p.ignoreExistingPrefer || p.hardWeight > 0
	if !hasPreferred && (!existing || len(snap.HavePodsWithScoringAffinity) == 0) {
		return framework.NewStatus(framework.Skip)
	}
	s := &ipaScoreState{scores: topologyScore{}}
	for _, terms := range []struct {
		list []framework.WeightedAffinityTerm
		sign int64
	}{{pi.PreferredAffinityTerms, 1}, {pi.PreferredAntiAffinityTerms, -1}} {
		for i := range terms.list {
			t := &terms.list[i]
			add := func(e *corev1.Pod, ni *framework.NodeInfo) {
				if t.Matches(e, nil) {
					s.scores.add(ni.Node(), t.TopologyKey, terms.sign*int64(t.Weight))
				}
			}
			if !p.scanAll && indexable([]framework.AffinityTerm{t.AffinityTerm}) {
				forPodsWithLabelOf(snap, &t.AffinityTerm, add)
				continue
			}
			for _, ni := range snap.List() {
				for _, e := range ni.Pods {
					add(e.Pod, ni)
				}
			}
		}
	}
	if existing {
		nsLabels := p.namespaceLabels(pod.Namespace)
		for _, ni := range snap.HavePodsWithScoringAffinity {
			for _, e := range ni.PodsWithAffinity {
				p.scoreExisting(s.scores, pi, nsLabels, e, ni.Node())
			}
		}
	}
	state.Write(ipaPreScoreKey, s)
	return nil
}

// scoreExisting adds the weights of existing pod e's terms (on node) that
// select the incoming pod.
func (p *InterPodAffinity) scoreExisting(ts topologyScore, pi *framework.PodInfo, nsLabels labels.Set, e *framework.PodInfo, node *corev1.Node) {
	if p.hardWeight > 0 {
		for _, t := range e.RequiredAffinityTerms {
			if t.Matches(pi.Pod, nsLabels) {
				ts.add(node, t.TopologyKey, p.hardWeight)
			}
		}
	}
	if p.ignoreExistingPrefer {
		return
	}
	for _, t := range e.PreferredAffinityTerms {
		if t.Matches(pi.Pod, nsLabels) {
			ts.add(node, t.TopologyKey, int64(t.Weight))
		}
	}
	for _, t := range e.PreferredAntiAffinityTerms {
		if t.Matches(pi.Pod, nsLabels) {
			ts.add(node, t.TopologyKey, -int64(t.Weight))
		}
	}
}

// Score implements framework.ScorePlugin.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := readState[*ipaScoreState](state, ipaPreScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var score int64
	for key, values := range s.scores {
		if v, ok := ni.Node().Labels[key]; ok {
			score += values[v]
		}
	}
	return score, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions: min-max scaling.
func (p *InterPodAffinity) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := readState[*ipaScoreState](state, ipaPreScoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(s.scores) == 0 {
		return nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sc := range scores {
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	diff := hi - lo
	for i := range scores {
		if diff > 0 {
			scores[i].Score = framework.MaxNodeScore * (scores[i].Score - lo) / diff
		} else {
			scores[i].Score = 0
		}
	}
	return nil
}
