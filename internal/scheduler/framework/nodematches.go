package framework

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// maxNodeMatchKeys bounds the predicates a snapshot remembers; past it the
// memory starts over (a workload's pods share one predicate, so the live
// set is small).
const maxNodeMatchKeys = 256

// NodeMatches is which nodes of one snapshot a node predicate matched, one
// bit per node: a filter reads a bit next to the NodeInfo fields it
// already loads instead of the node's label map. It is built once per
// predicate and node-label generation of the snapshot (see
// Snapshot.NodeMatches) and is read only afterwards.
type NodeMatches struct {
	bits []uint64
	// space is the slot space the set was built in: the slots of
	// NodeInfos of other snapshots mean nothing here.
	space *slotSpace
	// domainsMu guards domains: per label key, the number of its values
	// among the matched nodes.
	domainsMu sync.Mutex
	domains   map[string]int
}

// Matched reports whether the predicate matched ni's node; known is false
// for a NodeInfo this set does not cover, which the caller must then
// match itself.
func (m *NodeMatches) Matched(ni *NodeInfo) (matched, known bool) {
	if m == nil || m.space == nil || ni.space != m.space || ni.slot <= 0 || int(ni.slot) > len(m.bits)*64 {
		return false, false
	}
	i := ni.slot - 1
	return m.bits[i/64]&(1<<(i%64)) != 0, true
}

// Domains is the number of distinct values of the label key among the
// matched nodes of nodes, the list of the snapshot m was built from
// (topology spread's eligible domains); computed once per key.
func (m *NodeMatches) Domains(key string, nodes []*NodeInfo) int {
	m.domainsMu.Lock()
	defer m.domainsMu.Unlock()
	if n, ok := m.domains[key]; ok {
		return n
	}
	values := map[string]struct{}{}
	for _, ni := range nodes {
		if matched, _ := m.Matched(ni); matched {
			if v, ok := ni.Node().Labels[key]; ok {
				values[v] = struct{}{}
			}
		}
	}
	if m.domains == nil {
		m.domains = map[string]int{}
	}
	m.domains[key] = len(values)
	return len(values)
}

// genEntry is what a snapshot remembers for one key: a value (nil until
// the key was asked for twice in gen) and the node-label generation it is
// for.
type genEntry[T any] struct {
	gen uint64
	val *T
}

// remember returns the value of key in memo for generation gen, built the
// second time the key is asked for in gen: nil the first time, so that a
// one-off key costs no pass over all nodes. Past maxKeys keys the memory
// starts over. The caller holds the lock guarding memo.
func remember[T any](memo *map[string]*genEntry[T], key string, gen uint64, maxKeys int, build func() *T) *T {
	e, ok := (*memo)[key]
	if !ok || e.gen != gen {
		if *memo == nil || len(*memo) >= maxKeys {
			*memo = map[string]*genEntry[T]{}
		}
		(*memo)[key] = &genEntry[T]{gen: gen}
		return nil
	}
	if e.val == nil {
		e.val = build()
	}
	return e.val
}

// NodeMatches returns which of the snapshot's nodes match, for a predicate
// that depends only on a node's name and labels, identified by key (equal
// keys must mean equal predicates). It returns nil the first time a key is
// asked for in a generation of the nodes' labels: a pod with a one-off
// predicate (a DaemonSet pod pinned to its node) should filter its nodes
// directly rather than match every node of the cluster. Safe for
// concurrent use during a cycle.
func (s *Snapshot) NodeMatches(key string, match func(*corev1.Node) bool) *NodeMatches {
	s.matchesMu.Lock()
	defer s.matchesMu.Unlock()
	return remember(&s.matches, key, s.labelsGen, maxNodeMatchKeys, func() *NodeMatches { return s.buildNodeMatches(match) })
}

func (s *Snapshot) buildNodeMatches(match func(*corev1.Node) bool) *NodeMatches {
	m := &NodeMatches{bits: make([]uint64, (len(s.slotNames)+63)/64), space: s.space}
	for _, ni := range s.NodeInfoList {
		if ni.slot <= 0 || ni.Node() == nil {
			continue
		}
		if i := ni.slot - 1; match(ni.Node()) {
			m.bits[i/64] |= 1 << (i % 64)
		}
	}
	return m
}

// slotSpace identifies one numbering of a snapshot's nodes (from one Reset
// to the next). Within it a slot keeps its node while the node-label
// generation lasts, and NodeMatches and NodeDomains live no longer.
type slotSpace struct{ _ int }

// assignSlot gives ni the slot of its node's name, allocating one for a
// new name.
func (s *Snapshot) assignSlot(name string, ni *NodeInfo) {
	slot, ok := s.slots[name]
	if !ok {
		if n := len(s.freeSlots); n > 0 {
			slot, s.freeSlots = s.freeSlots[n-1], s.freeSlots[:n-1]
			s.slotNames[slot-1] = name
		} else {
			s.slotNames = append(s.slotNames, name)
			slot = int32(len(s.slotNames))
		}
		s.slots[name] = slot
	}
	ni.slot, ni.space = slot, s.space
}

// freeSlot releases the slot of a node that left the snapshot.
func (s *Snapshot) freeSlot(name string) {
	slot, ok := s.slots[name]
	if !ok {
		return
	}
	delete(s.slots, name)
	s.slotNames[slot-1] = ""
	s.freeSlots = append(s.freeSlots, slot)
}
