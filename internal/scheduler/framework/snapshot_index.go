package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// snapshotIndex holds what the affinity and spread plugins would otherwise
// find by scanning every pod of every node, kept up to date node by node
// as the cache refreshes the snapshot:
//
//   - podsByLabel: for "namespace, key=value", how many pods on each node
//     carry that label (all, and those not terminating);
//   - antiTerms: the required anti-affinity terms of existing pods whose
//     selector has an equality requirement, filed under the namespaces
//     they select and their first "key=value", so that an incoming pod
//     only checks the terms its own labels can match; other terms are in
//     otherAntiTerms.
type snapshotIndex struct {
	podsByLabel    map[labelKey]map[string]*LabelCount
	antiTerms      map[labelKey]map[string][]TermRef
	otherAntiTerms map[string][]TermRef
}

type labelKey struct {
	namespace, key, value string
}

// LabelCount counts pods with a label on one node.
type LabelCount struct {
	All, Live int32
}

// TermRef is a required anti-affinity term of a pod on a node.
type TermRef struct {
	Pod  *PodInfo
	Term *AffinityTerm
}

func newSnapshotIndex() *snapshotIndex {
	return &snapshotIndex{podsByLabel: map[labelKey]map[string]*LabelCount{},
		antiTerms: map[labelKey]map[string][]TermRef{}, otherAntiTerms: map[string][]TermRef{}}
}

// addNode indexes the pods of ni.
func (x *snapshotIndex) addNode(ni *NodeInfo) { x.update(ni, 1) }

// removeNode forgets the pods of ni (a NodeInfo previously added).
func (x *snapshotIndex) removeNode(ni *NodeInfo) { x.update(ni, -1) }

// replaceNode moves the index from old (previously added) to ni, a newer
// NodeInfo of the same node. PodInfos are never changed once made, so the
// pods both hold count as they are; only the ones that came or went are
// counted again (binding a pod changes one of a node's pods, not all).
func (x *snapshotIndex) replaceNode(old, ni *NodeInfo) {
	if old.Node() == nil || ni.Node() == nil || old.Node().Name != ni.Node().Name {
		x.removeNode(old)
		x.addNode(ni)
		return
	}
	name := ni.Node().Name
	gone, came := diffPods(old.Pods, ni.Pods)
	x.countLabels(name, gone, -1)
	x.countLabels(name, came, 1)
	if len(old.PodsWithRequiredAntiAffinity) > 0 {
		x.removeAntiTerms(old)
	}
	x.addAntiTerms(ni)
}

// diffPods returns the PodInfos only in a and those only in b.
func diffPods(a, b []*PodInfo) (onlyA, onlyB []*PodInfo) {
	in := func(pi *PodInfo, list []*PodInfo) bool {
		for _, p := range list {
			if p == pi {
				return true
			}
		}
		return false
	}
	if len(a)*len(b) > 4096 {
		seen := make(map[*PodInfo]bool, len(a)+len(b))
		for _, p := range a {
			seen[p] = true
		}
		for _, p := range b {
			if seen[p] {
				delete(seen, p)
			} else {
				onlyB = append(onlyB, p)
			}
		}
		for _, p := range a {
			if seen[p] {
				onlyA = append(onlyA, p)
			}
		}
		return onlyA, onlyB
	}
	for _, p := range a {
		if !in(p, b) {
			onlyA = append(onlyA, p)
		}
	}
	for _, p := range b {
		if !in(p, a) {
			onlyB = append(onlyB, p)
		}
	}
	return onlyA, onlyB
}

func (x *snapshotIndex) update(ni *NodeInfo, delta int32) {
	node := ni.Node()
	if node == nil {
		return
	}
	x.countLabels(node.Name, ni.Pods, delta)
	if delta < 0 {
		x.removeAntiTerms(ni)
		return
	}
	x.addAntiTerms(ni)
}

// countLabels adds delta to the label counts of pods on node name.
func (x *snapshotIndex) countLabels(name string, pods []*PodInfo, delta int32) {
	for _, pi := range pods {
		live := delta
		if pi.Pod.DeletionTimestamp != nil {
			live = 0
		}
		for k, v := range pi.Pod.Labels {
			key := labelKey{pi.Pod.Namespace, k, v}
			byNode := x.podsByLabel[key]
			if byNode == nil {
				byNode = map[string]*LabelCount{}
				x.podsByLabel[key] = byNode
			}
			c := byNode[name]
			if c == nil {
				c = &LabelCount{}
				byNode[name] = c
			}
			c.All += delta
			c.Live += live
			if c.All <= 0 {
				delete(byNode, name)
				if len(byNode) == 0 {
					delete(x.podsByLabel, key)
				}
			}
		}
	}
}

// removeAntiTerms forgets the anti-affinity terms filed for ni's node.
func (x *snapshotIndex) removeAntiTerms(ni *NodeInfo) {
	name := ni.Node().Name
	for key := range x.antiKeysOf(ni) {
		delete(x.antiTerms[key], name)
		if len(x.antiTerms[key]) == 0 {
			delete(x.antiTerms, key)
		}
	}
	delete(x.otherAntiTerms, name)
}

// addAntiTerms files the required anti-affinity terms of ni's pods.
func (x *snapshotIndex) addAntiTerms(ni *NodeInfo) {
	name := ni.Node().Name
	for _, pi := range ni.PodsWithRequiredAntiAffinity {
		for i := range pi.RequiredAntiAffinityTerms {
			t := &pi.RequiredAntiAffinityTerms[i]
			ref := TermRef{Pod: pi, Term: t}
			first, ok := t.matcher.firstPair()
			if !ok || t.NamespaceSelector != nil {
				x.otherAntiTerms[name] = append(x.otherAntiTerms[name], ref)
				continue
			}
			for ns := range t.Namespaces {
				key := labelKey{ns, first.key, first.value}
				if x.antiTerms[key] == nil {
					x.antiTerms[key] = map[string][]TermRef{}
				}
				x.antiTerms[key][name] = append(x.antiTerms[key][name], ref)
			}
		}
	}
}

// antiKeysOf lists the antiTerms keys ni's pods are filed under.
func (x *snapshotIndex) antiKeysOf(ni *NodeInfo) map[labelKey]struct{} {
	keys := map[labelKey]struct{}{}
	for _, pi := range ni.PodsWithRequiredAntiAffinity {
		for i := range pi.RequiredAntiAffinityTerms {
			t := &pi.RequiredAntiAffinityTerms[i]
			if first, ok := t.matcher.firstPair(); ok && t.NamespaceSelector == nil {
				for ns := range t.Namespaces {
					keys[labelKey{ns, first.key, first.value}] = struct{}{}
				}
			}
		}
	}
	return keys
}

// PodsWithLabel returns, per node name, how many pods in namespace carry
// label key=value. The map belongs to the snapshot: read it only.
func (s *Snapshot) PodsWithLabel(namespace, key, value string) map[string]*LabelCount {
	return s.index.podsByLabel[labelKey{namespace, key, value}]
}

// AntiAffinityTermsFor calls fn with every required anti-affinity term of
// an existing pod that could select pod (same namespace and a label in
// common, or a term the index cannot narrow), and the node it is on.
func (s *Snapshot) AntiAffinityTermsFor(pod *corev1.Pod, fn func(ref TermRef, node *NodeInfo)) {
	for k, v := range pod.Labels {
		for nodeName, refs := range s.index.antiTerms[labelKey{pod.Namespace, k, v}] {
			ni := s.NodeInfoMap[nodeName]
			for _, r := range refs {
				fn(r, ni)
			}
		}
	}
	for nodeName, refs := range s.index.otherAntiTerms {
		ni := s.NodeInfoMap[nodeName]
		for _, r := range refs {
			fn(r, ni)
		}
	}
}

// TopologyDomains returns, for a topology key, the number of nodes with
// each value of it. Computed on first use after the nodes or their labels
// changed; read only.
func (s *Snapshot) TopologyDomains(key string) map[string]int {
	s.domainsMu.Lock()
	defer s.domainsMu.Unlock()
	if s.domains == nil {
		s.domains = map[string]map[string]int{}
	}
	if d, ok := s.domains[key]; ok {
		return d
	}
	d := map[string]int{}
	for _, ni := range s.NodeInfoList {
		if v, ok := ni.Node().Labels[key]; ok {
			d[v]++
		}
	}
	s.domains[key] = d
	return d
}
