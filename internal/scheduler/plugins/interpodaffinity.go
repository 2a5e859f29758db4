package plugins

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// InterPodAffinityName is the plugin's name.
const InterPodAffinityName = "InterPodAffinity"

// InterPodAffinity rejection reasons.
const (
	ErrReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinity             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinity         = "node(s) didn't match pod anti-affinity rules"
)

// InterPodAffinityArgs are the plugin's arguments.
type InterPodAffinityArgs struct {
	// HardPodAffinityWeight is the score weight of existing pods' required
	// affinity terms that select the incoming pod (0-100, default 1).
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
	// IgnorePreferredTermsOfExistingPods scores only the incoming pod's terms.
	IgnorePreferredTermsOfExistingPods bool `json:"ignorePreferredTermsOfExistingPods,omitempty"`
}

// InterPodAffinity enforces required pod affinity and anti-affinity (the
// incoming pod's and the existing pods' anti-affinity against it) and
// scores preferred terms of both.
type InterPodAffinity struct {
	h                    framework.Handle
	hardWeight           int64
	ignoreExistingPrefer bool
	namespaces           corev1listers.NamespaceLister
	// scanAll turns the snapshot's indexes off (tests compare both ways).
	scanAll bool
	// Filter's rejections, made once (statuses are not changed once
	// returned, so nodes can share them).
	rejectExistingAnti, rejectAnti, rejectAffinity *framework.Status
}

// NewInterPodAffinity is the plugin's factory.
func NewInterPodAffinity(raw json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	var args InterPodAffinityArgs
	if err := framework.PluginArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &InterPodAffinity{h: h, hardWeight: 1, ignoreExistingPrefer: args.IgnorePreferredTermsOfExistingPods,
		rejectExistingAnti: framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinity).WithPlugin(InterPodAffinityName),
		rejectAnti:         framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinity).WithPlugin(InterPodAffinityName),
		rejectAffinity:     framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinity).WithPlugin(InterPodAffinityName)}
	if w := args.HardPodAffinityWeight; w != nil {
		if *w < 0 || *w > 100 {
			return nil, fmt.Errorf("hardPodAffinityWeight: Invalid value: %d: not in valid range [0-100]", *w)
		}
		p.hardWeight = int64(*w)
	}
	if f := h.SharedInformerFactory(); f != nil {
		p.namespaces = f.Core().V1().Namespaces().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return InterPodAffinityName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*InterPodAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.All},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel},
		{Resource: framework.Namespace, ActionType: framework.Add | framework.Update},
	}
}

type topologyPair struct{ key, value string }

// topologyCounts counts matching pods per topology domain.
type topologyCounts map[topologyPair]int64

func (m topologyCounts) add(node *corev1.Node, key string, delta int64) {
	if v, ok := node.Labels[key]; ok {
		pair := topologyPair{key, v}
		m[pair] += delta
		if m[pair] == 0 {
			delete(m, pair)
		}
	}
}

func (m topologyCounts) clone() topologyCounts {
	c := make(topologyCounts, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

const ipaPreFilterKey framework.StateKey = "PreFilter" + InterPodAffinityName

// ipaFilterState counts, per domain: existing pods whose anti-affinity
// selects the incoming pod, and existing pods its affinity and
// anti-affinity terms select.
type ipaFilterState struct {
	pod          *framework.PodInfo
	nsLabels     labels.Set
	existingAnti topologyCounts
	affinity     topologyCounts
	anti         topologyCounts
	// existingAntiDomains and antiDomains are the domains existingAnti and
	// anti reject, per topology key (see indexRejections).
	existingAntiDomains, antiDomains []rejectedDomains
}

func (s *ipaFilterState) Clone() framework.StateData {
	return &ipaFilterState{pod: s.pod, nsLabels: s.nsLabels, existingAnti: s.existingAnti.clone(),
		affinity: s.affinity.clone(), anti: s.anti.clone(),
		existingAntiDomains: s.existingAntiDomains, antiDomains: s.antiDomains}
}

// indexSnapshot is the snapshot whose indexes the plugin uses: none with
// scanAll.
func (p *InterPodAffinity) indexSnapshot() *framework.Snapshot {
	if p.scanAll {
		return nil
	}
	return p.h.Snapshot()
}

// namespaceLabels returns the labels of namespace ns (nil if unknown).
func (p *InterPodAffinity) namespaceLabels(ns string) labels.Set {
	if p.namespaces == nil {
		return nil
	}
	n, err := p.namespaces.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

// resolveNamespaces turns the namespace selector of an incoming pod's term
// into namespace names, so matching existing pods needs no lookup.
func (p *InterPodAffinity) resolveNamespaces(t *framework.AffinityTerm) {
	if t.NamespaceSelector == nil {
		return
	}
	if p.namespaces != nil {
		nss, _ := p.namespaces.List(t.NamespaceSelector)
		for _, ns := range nss {
			t.Namespaces.Insert(ns.Name)
		}
	}
	t.NamespaceSelector = nil
}

// incomingPodInfo parses the incoming pod's terms (fresh, so they may be
// changed) and resolves their namespace selectors.
func (p *InterPodAffinity) incomingPodInfo(pod *corev1.Pod) (*framework.PodInfo, error) {
	if a := pod.Spec.Affinity; a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return &framework.PodInfo{Pod: pod}, nil
	}
	pi := framework.NewPodInfo(pod)
	if pi.ParseError != nil {
		return nil, pi.ParseError
	}
	for i := range pi.RequiredAffinityTerms {
		p.resolveNamespaces(&pi.RequiredAffinityTerms[i])
	}
	for i := range pi.RequiredAntiAffinityTerms {
		p.resolveNamespaces(&pi.RequiredAntiAffinityTerms[i])
	}
	for i := range pi.PreferredAffinityTerms {
		p.resolveNamespaces(&pi.PreferredAffinityTerms[i].AffinityTerm)
	}
	for i := range pi.PreferredAntiAffinityTerms {
		p.resolveNamespaces(&pi.PreferredAntiAffinityTerms[i].AffinityTerm)
	}
	return pi, nil
}

// PreFilter implements framework.PreFilterPlugin.
func (p *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	pi, err := p.incomingPodInfo(pod)
	if err != nil {
		return nil, framework.AsStatus(fmt.Errorf("parse pod affinity: %w", err))
	}
	snap := p.h.Snapshot()
	s := &ipaFilterState{pod: pi, nsLabels: p.namespaceLabels(pod.Namespace),
		existingAnti: topologyCounts{}, affinity: topologyCounts{}, anti: topologyCounts{}}
	if p.scanAll {
		for _, ni := range snap.HavePodsWithRequiredAntiAffinity {
			for _, e := range ni.PodsWithRequiredAntiAffinity {
				s.addExistingAnti(e, ni.Node(), 1)
			}
		}
	} else {
		snap.AntiAffinityTermsFor(pod, func(ref framework.TermRef, ni *framework.NodeInfo) {
			if ref.Term.Matches(pod, s.nsLabels) {
				s.existingAnti.add(ni.Node(), ref.Term.TopologyKey, 1)
			}
		})
	}
	if len(pi.RequiredAffinityTerms) == 0 && len(pi.RequiredAntiAffinityTerms) == 0 {
		if len(s.existingAnti) == 0 {
			return nil, framework.NewStatus(framework.Skip)
		}
	} else if p.scanAll || !s.countIncomingIndexed(snap) {
		for _, ni := range snap.List() {
			for _, e := range ni.Pods {
				s.addIncoming(e.Pod, ni.Node(), 1)
			}
		}
	}
	s.indexRejections(p.indexSnapshot())
	state.Write(ipaPreFilterKey, s)
	return nil, nil
}

// indexable reports terms the snapshot's label index can narrow: an
// equality requirement and explicit namespaces.
func indexable(terms []framework.AffinityTerm) bool {
	for i := range terms {
		if _, ok := terms[i].Matcher().EqualityPairs(); !ok || len(terms[i].Namespaces) == 0 || terms[i].NamespaceSelector != nil {
			return false
		}
		if pairs, _ := terms[i].Matcher().EqualityPairs(); len(pairs) == 0 {
			return false
		}
	}
	return true
}

// forPodsWithLabelOf calls fn for every pod a term could select: the pods
// in the term's namespaces that carry its first label pair.
func forPodsWithLabelOf(snap *framework.Snapshot, t *framework.AffinityTerm, fn func(e *corev1.Pod, ni *framework.NodeInfo)) {
	pairs, _ := t.Matcher().EqualityPairs()
	for ns := range t.Namespaces {
		for nodeName := range snap.PodsWithLabel(ns, pairs[0][0], pairs[0][1]) {
			ni := snap.NodeInfoMap[nodeName]
			for _, e := range ni.Pods {
				if e.Pod.Namespace == ns {
					fn(e.Pod, ni)
				}
			}
		}
	}
}

// countIncomingIndexed counts the pods the incoming pod's required terms
// select using the label index; false if the terms cannot use it.
func (s *ipaFilterState) countIncomingIndexed(snap *framework.Snapshot) bool {
	aff, anti := s.pod.RequiredAffinityTerms, s.pod.RequiredAntiAffinityTerms
	if !indexable(aff) || !indexable(anti) {
		return false
	}
	if len(aff) > 0 {
		forPodsWithLabelOf(snap, &aff[0], func(e *corev1.Pod, ni *framework.NodeInfo) {
			if matchesAllTerms(aff, e) {
				for _, t := range aff {
					s.affinity.add(ni.Node(), t.TopologyKey, 1)
				}
			}
		})
	}
	for i := range anti {
		t := &anti[i]
		forPodsWithLabelOf(snap, t, func(e *corev1.Pod, ni *framework.NodeInfo) {
			if t.Matches(e, nil) {
				s.anti.add(ni.Node(), t.TopologyKey, 1)
			}
		})
	}
	return true
}

// addExistingAnti counts e's anti-affinity terms that select the incoming pod.
func (s *ipaFilterState) addExistingAnti(e *framework.PodInfo, node *corev1.Node, delta int64) {
	for i := range e.RequiredAntiAffinityTerms {
		t := &e.RequiredAntiAffinityTerms[i]
		if t.Matches(s.pod.Pod, s.nsLabels) {
			s.existingAnti.add(node, t.TopologyKey, delta)
		}
	}
}

// addIncoming counts existing pod e against the incoming pod's terms.
func (s *ipaFilterState) addIncoming(e *corev1.Pod, node *corev1.Node, delta int64) {
	if len(s.pod.RequiredAffinityTerms) > 0 && matchesAllTerms(s.pod.RequiredAffinityTerms, e) {
		for _, t := range s.pod.RequiredAffinityTerms {
			s.affinity.add(node, t.TopologyKey, delta)
		}
	}
	for i := range s.pod.RequiredAntiAffinityTerms {
		t := &s.pod.RequiredAntiAffinityTerms[i]
		if t.Matches(e, nil) {
			s.anti.add(node, t.TopologyKey, delta)
		}
	}
}

func matchesAllTerms(terms []framework.AffinityTerm, pod *corev1.Pod) bool {
	for i := range terms {
		if !terms[i].Matches(pod, nil) {
			return false
		}
	}
	return len(terms) > 0
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *InterPodAffinity) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, add, ni.Node(), 1)
}

// RemovePod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, rm, ni.Node(), -1)
}

func (p *InterPodAffinity) update(state *framework.CycleState, e *framework.PodInfo, node *corev1.Node, delta int64) *framework.Status {
	s, err := readState[*ipaFilterState](state, ipaPreFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s.addExistingAnti(e, node, delta)
	s.addIncoming(e.Pod, node, delta)
	s.indexRejections(p.indexSnapshot())
	return nil
}

// Filter implements framework.FilterPlugin.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*ipaFilterState](state, ipaPreFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if rejects(s.existingAntiDomains, s.existingAnti, ni) {
		return p.rejectExistingAnti
	}
	if rejects(s.antiDomains, s.anti, ni) {
		return p.rejectAnti
	}
	if !s.satisfiesAffinity(ni.Node()) {
		return p.rejectAffinity
	}
	return nil
}

// satisfiesAffinity: every affinity term has a matching pod in the node's
// domain; or, for the first pod of a group that selects itself, no pod
// matches anywhere and the node has all the topology keys.
func (s *ipaFilterState) satisfiesAffinity(node *corev1.Node) bool {
	terms := s.pod.RequiredAffinityTerms
	found := true
	for _, t := range terms {
		v, ok := node.Labels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinity[topologyPair{t.TopologyKey, v}] <= 0 {
			found = false
		}
	}
	if found {
		return true
	}
	return len(s.affinity) == 0 && matchesAllTerms(terms, s.pod.Pod)
}
