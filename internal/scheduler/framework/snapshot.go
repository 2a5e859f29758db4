package framework

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Snapshot is the immutable view of the cluster one scheduling cycle
// decides on: a NodeInfo per node, in an order that interleaves zones,
// and indexes over them. The cache refreshes it in place between cycles
// (cache.UpdateSnapshot), node by node, reusing the memory of NodeInfos
// it replaces: a NodeInfo read from the snapshot is valid until the next
// refresh (Clone it to keep it longer).
type Snapshot struct {
	// NodeInfoMap and NodeInfoList hold the same NodeInfos.
	NodeInfoMap  map[string]*NodeInfo
	NodeInfoList []*NodeInfo
	// HavePodsWithAffinity and HavePodsWithRequiredAntiAffinity are the
	// nodes with such pods; HavePodsWithScoringAffinity those whose pods
	// have terms that score other pods (required affinity, preferred
	// affinity or anti-affinity).
	HavePodsWithAffinity             map[string]*NodeInfo
	HavePodsWithRequiredAntiAffinity map[string]*NodeInfo
	HavePodsWithScoringAffinity      map[string]*NodeInfo

	index *snapshotIndex
	// domainsMu guards domains, the TopologyDomains cache.
	domainsMu sync.Mutex
	domains   map[string]map[string]int

	// slots numbers the nodes for NodeMatches: a node keeps its slot
	// while it is in the snapshot; slotNames is the node of each slot
	// ("" when free) and freeSlots the free ones. labelsGen counts the
	// changes of the node set or of a node's labels. Changed between
	// cycles only.
	slots     map[string]int32
	space     *slotSpace
	slotNames []string
	freeSlots []int32
	labelsGen uint64
	// matchesMu guards matches and nodeDomains, the NodeMatches and
	// NodeDomains memories.
	matchesMu   sync.Mutex
	matches     map[string]*genEntry[NodeMatches]
	nodeDomains map[string]*genEntry[NodeDomains]
}

// NewSnapshot builds a snapshot from objects (tests, benchmarks): pods
// whose nodeName is one of nodes are added to it.
func NewSnapshot(pods []*corev1.Pod, nodes []*corev1.Node) *Snapshot {
	infos := map[string]*NodeInfo{}
	var list []*NodeInfo
	for _, n := range nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		infos[n.Name] = ni
		list = append(list, ni)
	}
	for _, p := range pods {
		if ni, ok := infos[p.Spec.NodeName]; ok {
			ni.AddPod(p)
		}
	}
	SetImageStates(list)
	s := &Snapshot{}
	s.Reset()
	for _, ni := range list {
		s.ReplaceNode(ni.Name(), ni)
	}
	s.NodeInfoList = list
	return s
}

// Reset empties the snapshot.
func (s *Snapshot) Reset() {
	s.NodeInfoMap = map[string]*NodeInfo{}
	s.NodeInfoList = nil
	s.HavePodsWithAffinity = map[string]*NodeInfo{}
	s.HavePodsWithRequiredAntiAffinity = map[string]*NodeInfo{}
	s.HavePodsWithScoringAffinity = map[string]*NodeInfo{}
	s.index = newSnapshotIndex()
	s.domains = nil
	s.slots, s.slotNames, s.freeSlots = map[string]int32{}, nil, nil
	s.space = &slotSpace{}
	s.labelsGen++
	s.matches = nil
}

// ReplaceNode puts ni (nil: nothing) in place of the node named name in
// the map and the indexes; the caller keeps NodeInfoList in step. Only
// between cycles.
func (s *Snapshot) ReplaceNode(name string, ni *NodeInfo) {
	old := s.NodeInfoMap[name]
	switch {
	case old != nil && ni != nil:
		s.index.replaceNode(old, ni)
	case old != nil:
		s.index.removeNode(old)
	case ni != nil:
		s.index.addNode(ni)
	}
	if old == nil || ni == nil || !labels.Equals(old.Node().Labels, ni.Node().Labels) {
		s.domains = nil
		s.labelsGen++
	}
	delete(s.HavePodsWithAffinity, name)
	delete(s.HavePodsWithRequiredAntiAffinity, name)
	delete(s.HavePodsWithScoringAffinity, name)
	if ni == nil {
		delete(s.NodeInfoMap, name)
		s.freeSlot(name)
		return
	}
	s.NodeInfoMap[name] = ni
	s.assignSlot(name, ni)
	if len(ni.PodsWithAffinity) > 0 {
		s.HavePodsWithAffinity[name] = ni
		for _, pi := range ni.PodsWithAffinity {
			if len(pi.RequiredAffinityTerms)+len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0 {
				s.HavePodsWithScoringAffinity[name] = ni
				break
			}
		}
	}
	if len(ni.PodsWithRequiredAntiAffinity) > 0 {
		s.HavePodsWithRequiredAntiAffinity[name] = ni
	}
}

// MoveNode makes ni, a copy of the NodeInfo the snapshot holds for name
// (same node, pods and sums), the one it holds from now on; the indexes
// stay as they are. The cache uses it to lay NodeInfos out in list order.
// Only between cycles.
func (s *Snapshot) MoveNode(name string, ni *NodeInfo) {
	s.NodeInfoMap[name] = ni
	for _, m := range []map[string]*NodeInfo{s.HavePodsWithAffinity, s.HavePodsWithRequiredAntiAffinity, s.HavePodsWithScoringAffinity} {
		if _, ok := m[name]; ok {
			m[name] = ni
		}
	}
}

// List returns the nodes.
func (s *Snapshot) List() []*NodeInfo { return s.NodeInfoList }

// NumNodes is the number of nodes.
func (s *Snapshot) NumNodes() int { return len(s.NodeInfoList) }

// Get returns the node named name.
func (s *Snapshot) Get(name string) (*NodeInfo, error) {
	if ni, ok := s.NodeInfoMap[name]; ok && ni.Node() != nil {
		return ni, nil
	}
	return nil, fmt.Errorf("nodeinfo %q not found", name)
}

// SetImageStates computes the image states of nodes from their status:
// every image name maps to the image's size and the number of nodes that
// have it.
func SetImageStates(nodes []*NodeInfo) {
	count := map[string]int{}
	for _, ni := range nodes {
		for _, img := range ni.Node().Status.Images {
			for _, name := range img.Names {
				count[name]++
			}
		}
	}
	for _, ni := range nodes {
		ni.ImageStates = ImageStatesOf(ni.Node(), count)
	}
}

// ImageStatesOf is the image states of one node given the number of nodes
// each image name is on.
func ImageStatesOf(node *corev1.Node, nodesWithImage map[string]int) map[string]*ImageStateSummary {
	if node == nil || len(node.Status.Images) == 0 {
		return nil
	}
	out := make(map[string]*ImageStateSummary)
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			out[name] = &ImageStateSummary{Size: img.SizeBytes, NumNodes: max(nodesWithImage[name], 1)}
		}
	}
	return out
}
