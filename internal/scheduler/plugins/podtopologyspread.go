package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// PodTopologySpreadName is the plugin's name.
const PodTopologySpreadName = "PodTopologySpread"

// PodTopologySpread rejection reasons.
const (
	ErrReasonTopologySpread        = "node(s) didn't match pod topology spread constraints"
	ErrReasonTopologySpreadMissing = ErrReasonTopologySpread + " (missing required label)"
)

// Defaulting types of PodTopologySpreadArgs.
const (
	SystemDefaulting = "System"
	ListDefaulting   = "List"
)

// PodTopologySpreadArgs are the plugin's arguments.
type PodTopologySpreadArgs struct {
	// DefaultConstraints apply to pods without constraints of their own
	// (with defaultingType List); they must not have a label selector,
	// which is derived from the services and controllers of the pod.
	DefaultConstraints []corev1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType is System (built-in soft defaults) or List.
	DefaultingType string `json:"defaultingType,omitempty"`
}

// systemDefaultConstraints are upstream's built-in soft defaults.
func systemDefaultConstraints() []corev1.TopologySpreadConstraint {
	return []corev1.TopologySpreadConstraint{
		{MaxSkew: 3, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway},
		{MaxSkew: 5, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway},
	}
}

// PodTopologySpread enforces topologySpreadConstraints: DoNotSchedule
// constraints filter, ScheduleAnyway ones score. Pods without constraints
// get the default constraints with a selector derived from the services,
// replication controllers, replica sets and stateful sets selecting them.
type PodTopologySpread struct {
	h                framework.Handle
	defaults         []corev1.TopologySpreadConstraint
	systemDefaulted  bool
	services         corev1listers.ServiceLister
	replicationCtrls corev1listers.ReplicationControllerLister
	replicaSets      appsv1listers.ReplicaSetLister
	statefulSets     appsv1listers.StatefulSetLister
	// scanAll turns the snapshot's indexes off (tests compare both ways).
	scanAll bool
	// rejectSkew and rejectMissing are Filter's rejections, made once:
	// statuses are not changed once returned, so nodes can share them.
	rejectSkew, rejectMissing *framework.Status
}

// NewPodTopologySpread is the plugin's factory.
func NewPodTopologySpread(raw json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	args := PodTopologySpreadArgs{DefaultingType: SystemDefaulting}
	if err := framework.PluginArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &PodTopologySpread{h: h,
		rejectSkew:    framework.NewStatus(framework.Unschedulable, ErrReasonTopologySpread).WithPlugin(PodTopologySpreadName),
		rejectMissing: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonTopologySpreadMissing).WithPlugin(PodTopologySpreadName)}
	switch args.DefaultingType {
	case SystemDefaulting, "":
		if len(args.DefaultConstraints) > 0 {
			return nil, fmt.Errorf("defaultConstraints: Invalid value: when .defaultingType is %q, .defaultConstraints must be empty", SystemDefaulting)
		}
		p.defaults, p.systemDefaulted = systemDefaultConstraints(), true
	case ListDefaulting:
		p.defaults = args.DefaultConstraints
	default:
		return nil, fmt.Errorf("defaultingType: Unsupported value: %q: supported values: %q, %q", args.DefaultingType, SystemDefaulting, ListDefaulting)
	}
	for i, c := range p.defaults {
		if c.LabelSelector != nil {
			return nil, fmt.Errorf("defaultConstraints[%d].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod", i)
		}
		if c.MaxSkew <= 0 || c.TopologyKey == "" {
			return nil, fmt.Errorf("defaultConstraints[%d]: maxSkew must be > 0 and topologyKey set", i)
		}
		if c.WhenUnsatisfiable != corev1.DoNotSchedule && c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			return nil, fmt.Errorf("defaultConstraints[%d].whenUnsatisfiable: Unsupported value: %q", i, c.WhenUnsatisfiable)
		}
	}
	if f := h.SharedInformerFactory(); f != nil && len(p.defaults) > 0 {
		p.services = f.Core().V1().Services().Lister()
		p.replicationCtrls = f.Core().V1().ReplicationControllers().Lister()
		p.replicaSets = f.Apps().V1().ReplicaSets().Lister()
		p.statefulSets = f.Apps().V1().StatefulSets().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*PodTopologySpread) Name() string { return PodTopologySpreadName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*PodTopologySpread) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.All},
		{Resource: framework.Node, ActionType: framework.Add | framework.Delete | framework.UpdateNodeLabel | framework.UpdateNodeTaint},
	}
}

// spreadConstraint is a parsed constraint.
type spreadConstraint struct {
	MaxSkew            int32
	TopologyKey        string
	Selector           framework.LabelMatcher
	MinDomains         int32
	NodeAffinityPolicy corev1.NodeInclusionPolicy
	NodeTaintsPolicy   corev1.NodeInclusionPolicy
}

// constraints returns the pod's constraints with action, or the defaults
// when the pod has none at all.
func (p *PodTopologySpread) constraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return parseConstraints(pod, pod.Spec.TopologySpreadConstraints, action, nil)
	}
	withAction := func(c corev1.TopologySpreadConstraint) bool { return c.WhenUnsatisfiable == action }
	if !slices.ContainsFunc(p.defaults, withAction) {
		return nil, nil // no need for the selector (services, controllers)
	}
	sel := p.defaultSelector(pod)
	if sel.Empty() {
		return nil, nil
	}
	return parseConstraints(pod, p.defaults, action, sel)
}

func parseConstraints(pod *corev1.Pod, in []corev1.TopologySpreadConstraint, action corev1.UnsatisfiableConstraintAction, defaultSel labels.Selector) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for _, c := range in {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel := defaultSel
		if sel == nil {
			var err error
			if sel, err = metav1.LabelSelectorAsSelector(c.LabelSelector); err != nil {
				return nil, err
			}
			for _, key := range c.MatchLabelKeys {
				if v, ok := pod.Labels[key]; ok {
					r, err := labels.NewRequirement(key, selection.In, []string{v})
					if err != nil {
						return nil, err
					}
					sel = sel.Add(*r)
				}
			}
		}
		sc := spreadConstraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: framework.NewLabelMatcher(sel), MinDomains: 1,
			NodeAffinityPolicy: corev1.NodeInclusionPolicyHonor, NodeTaintsPolicy: corev1.NodeInclusionPolicyIgnore}
		if c.MinDomains != nil {
			sc.MinDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			sc.NodeAffinityPolicy = *c.NodeAffinityPolicy
		}
		if c.NodeTaintsPolicy != nil {
			sc.NodeTaintsPolicy = *c.NodeTaintsPolicy
		}
		out = append(out, sc)
	}
	return out, nil
}

// defaultSelector merges the selectors of the services selecting pod and
// of its controller.
func (p *PodTopologySpread) defaultSelector(pod *corev1.Pod) labels.Selector {
	set := labels.Set{}
	if p.services != nil {
		svcs, _ := p.services.Services(pod.Namespace).List(labels.Everything())
		for _, s := range svcs {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				set = labels.Merge(set, s.Spec.Selector)
			}
		}
	}
	sel := set.AsSelector()
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil || p.replicaSets == nil {
		return sel
	}
	var ls *metav1.LabelSelector
	switch owner.Kind {
	case "ReplicationController":
		if rc, err := p.replicationCtrls.ReplicationControllers(pod.Namespace).Get(owner.Name); err == nil {
			return labels.Merge(set, rc.Spec.Selector).AsSelector()
		}
	case "ReplicaSet":
		if rs, err := p.replicaSets.ReplicaSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = rs.Spec.Selector
		}
	case "StatefulSet":
		if ss, err := p.statefulSets.StatefulSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = ss.Spec.Selector
		}
	}
	if other, err := metav1.LabelSelectorAsSelector(ls); err == nil && ls != nil {
		if reqs, ok := other.Requirements(); ok {
			sel = sel.Add(reqs...)
		}
	}
	return sel
}

// nodeHasKeys reports whether node has the topology keys of all constraints.
func nodeHasKeys(node *corev1.Node, cs []spreadConstraint) bool {
	for _, c := range cs {
		if _, ok := node.Labels[c.TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// nodeCounts reports whether node's pods count for constraint c of pod.
func nodeCounts(c *spreadConstraint, pod *corev1.Pod, na RequiredNodeAffinity, node *corev1.Node) bool {
	if c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor && !na.Match(node) {
		return false
	}
	if c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		if _, bad := firstUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, scheduleOrExecute); bad {
			return false
		}
	}
	return true
}

// countMatching counts the live pods in ns that sel selects.
func countMatching(pods []*framework.PodInfo, sel *framework.LabelMatcher, ns string) int32 {
	var n int32
	for _, pi := range pods {
		p := pi.Pod
		if p.DeletionTimestamp != nil || p.Namespace != ns {
			continue
		}
		if sel.Matches(p.Labels) {
			n++
		}
	}
	return n
}

const spreadPreFilterKey framework.StateKey = "PreFilter" + PodTopologySpreadName

// spreadFilterState holds, per DoNotSchedule constraint, the number of
// matching pods per topology value over the eligible nodes (values
// without pods may be absent), the number of eligible domains, and the
// minimum count.
type spreadFilterState struct {
	constraints []spreadConstraint
	counts      []map[string]int32
	domains     []int
	minMatch    []int32
	// self is 1 where the constraint's selector matches the pod itself
	// (it then counts in the domain it lands in), else 0.
	self     []int32
	affinity RequiredNodeAffinity
	// verdicts[i] is Filter's answer for constraint i per domain of its
	// key, nil where Filter looks the node's label up instead.
	verdicts []*domainVerdicts
}

func (s *spreadFilterState) Clone() framework.StateData {
	c := &spreadFilterState{constraints: s.constraints, affinity: s.affinity, domains: s.domains, self: s.self,
		counts: make([]map[string]int32, len(s.counts)), minMatch: append([]int32(nil), s.minMatch...),
		verdicts: append([]*domainVerdicts(nil), s.verdicts...)}
	for i, m := range s.counts {
		c.counts[i] = make(map[string]int32, len(m))
		for k, v := range m {
			c.counts[i][k] = v
		}
	}
	return c
}

func (s *spreadFilterState) updateMin(i int) {
	if len(s.counts[i]) < s.domains[i] {
		s.minMatch[i] = 0 // a domain without any matching pod
		return
	}
	m := int32(math.MaxInt32)
	for _, v := range s.counts[i] {
		m = min(m, v)
	}
	if len(s.counts[i]) == 0 {
		m = 0
	}
	s.minMatch[i] = m
}

// PreFilter implements framework.PreFilterPlugin.
func (p *PodTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.PreFilterResult, *framework.Status) {
	cs, err := p.constraints(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(fmt.Errorf("parse topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &spreadFilterState{constraints: cs, counts: make([]map[string]int32, len(cs)), domains: make([]int, len(cs)),
		minMatch: make([]int32, len(cs)), self: make([]int32, len(cs)), affinity: NewRequiredNodeAffinity(pod),
		verdicts: make([]*domainVerdicts, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int32{}
		if cs[i].Selector.Matches(pod.Labels) {
			s.self[i] = 1
		}
	}
	if p.scanAll || !p.countIndexed(pod, s) {
		p.countAll(pod, s)
	}
	for i := range cs {
		s.updateMin(i)
	}
	if !p.scanAll {
		s.decideDomains(p.h.Snapshot())
	}
	state.Write(spreadPreFilterKey, s)
	return nil, nil
}

// countAll counts matching pods over every eligible node.
func (p *PodTopologySpread) countAll(pod *corev1.Pod, s *spreadFilterState) {
	cs := s.constraints
	for _, ni := range p.h.Snapshot().List() {
		node := ni.Node()
		if !nodeHasKeys(node, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !nodeCounts(c, pod, s.affinity, node) {
				continue
			}
			s.counts[i][node.Labels[c.TopologyKey]] += countMatching(ni.Pods, &c.Selector, pod.Namespace)
		}
	}
	for i := range cs {
		s.domains[i] = len(s.counts[i])
	}
}

// countIndexed counts with the snapshot's indexes in the common case —
// one constraint with a matchLabels selector, taints ignored — visiting only
// the nodes with matching pods; it reports false when the case does not
// apply. When the pod's node affinity is honoured, the eligible domains
// take one pass over the nodes (no pods), still far cheaper than countAll.
func (p *PodTopologySpread) countIndexed(pod *corev1.Pod, s *spreadFilterState) bool {
	if len(s.constraints) != 1 {
		return false
	}
	c := &s.constraints[0]
	pairs, ok := c.Selector.EqualityPairs()
	if !ok || len(pairs) == 0 || c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		return false
	}
	snap := p.h.Snapshot()
	honorAffinity := !s.affinity.Empty() && c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor
	var matching *framework.NodeMatches
	if honorAffinity {
		matching = s.affinity.matchingNodes(snap)
	}
	switch {
	case !honorAffinity:
		s.domains[0] = len(snap.TopologyDomains(c.TopologyKey))
	case matching != nil:
		// Pods sharing the node constraints share the eligible domains.
		s.domains[0] = matching.Domains(c.TopologyKey, snap.List())
	default:
		domains := map[string]struct{}{}
		for _, ni := range snap.List() {
			node := ni.Node()
			if v, ok := node.Labels[c.TopologyKey]; ok && s.affinity.Match(node) {
				domains[v] = struct{}{}
			}
		}
		s.domains[0] = len(domains)
	}
	for nodeName, lc := range snap.PodsWithLabel(pod.Namespace, pairs[0][0], pairs[0][1]) {
		ni := snap.NodeInfoMap[nodeName]
		v, ok := ni.Node().Labels[c.TopologyKey]
		if !ok || (honorAffinity && !s.affinity.matchNode(matching, ni)) {
			continue
		}
		n := lc.Live
		if len(pairs) > 1 {
			n = countMatching(ni.Pods, &c.Selector, pod.Namespace)
		}
		if n > 0 {
			s.counts[0][v] += n
		}
	}
	return true
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *PodTopologySpread) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.updateWithPod(state, pod, add.Pod, ni.Node(), 1)
}

// RemovePod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.updateWithPod(state, pod, rm.Pod, ni.Node(), -1)
}

func (p *PodTopologySpread) updateWithPod(state *framework.CycleState, pod, other *corev1.Pod, node *corev1.Node, delta int32) *framework.Status {
	s, err := readState[*spreadFilterState](state, spreadPreFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if other.Namespace != pod.Namespace || !nodeHasKeys(node, s.constraints) {
		return nil
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if !nodeCounts(c, pod, s.affinity, node) || !c.Selector.Matches(other.Labels) {
			continue
		}
		s.counts[i][node.Labels[c.TopologyKey]] += delta
		s.updateMin(i)
		s.decideDomain(i)
	}
	return nil
}

// Filter implements framework.FilterPlugin: placing the pod must keep
// (matching pods in the node's domain + 1) - (global minimum) <= maxSkew,
// where the minimum counts as 0 while there are fewer than minDomains
// domains.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*spreadFilterState](state, spreadPreFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	for i := range s.constraints {
		if v := s.verdicts[i]; v != nil {
			if id, known := v.domains.Of(ni); known {
				switch {
				case id < 0:
					return p.rejectMissing
				case v.over[id]:
					return p.rejectSkew
				}
				continue
			}
		}
		value, ok := ni.Node().Labels[s.constraints[i].TopologyKey]
		if !ok {
			return p.rejectMissing
		}
		if s.exceeds(i, value) {
			return p.rejectSkew
		}
	}
	return nil
}
