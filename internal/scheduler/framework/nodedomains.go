package framework

// maxNodeDomainKeys bounds the label keys a snapshot keeps NodeDomains
// for; past it the memory starts over (topology keys are few).
const maxNodeDomainKeys = 32

// NodeDomains numbers the values of one node label key (the topology
// domains of that key) and records each node's: a filter that decides per
// domain looks a node's domain up by its slot next to the NodeInfo fields
// it already loads instead of hashing into the node's label map. It is
// built once per key and node-label generation of a snapshot (see
// Snapshot.NodeDomains) and is read only afterwards.
type NodeDomains struct {
	// Values are the key's values, each once; a domain's number is its
	// index here.
	Values []string
	// byValue is the number of each value.
	byValue map[string]int32
	// ids is the domain of each slot's node, -1 when it lacks the key.
	ids []int32
	// space is the slot space the index was built in: the slots of
	// NodeInfos of other snapshots mean nothing here.
	space *slotSpace
}

// Of returns the number of ni's node's domain, -1 when the node lacks the
// key; known is false for a NodeInfo this index does not cover, which the
// caller must then look up itself.
func (d *NodeDomains) Of(ni *NodeInfo) (id int32, known bool) {
	if d == nil || d.space == nil || ni.space != d.space || ni.slot <= 0 || int(ni.slot) > len(d.ids) {
		return -1, false
	}
	return d.ids[ni.slot-1], true
}

// ID returns the number of the domain value, false when no node of the
// index has it.
func (d *NodeDomains) ID(value string) (int32, bool) {
	id, ok := d.byValue[value]
	return id, ok
}

// NodeDomains returns the domains of the label key over the snapshot's
// nodes. Like NodeMatches it returns nil the first time a key is asked for
// in a generation of the nodes' labels, so that labels changing between
// every cycle never cost a pass over all nodes per cycle. Safe for
// concurrent use during a cycle.
func (s *Snapshot) NodeDomains(key string) *NodeDomains {
	s.matchesMu.Lock()
	defer s.matchesMu.Unlock()
	return remember(&s.nodeDomains, key, s.labelsGen, maxNodeDomainKeys, func() *NodeDomains { return s.buildNodeDomains(key) })
}

func (s *Snapshot) buildNodeDomains(key string) *NodeDomains {
	d := &NodeDomains{ids: make([]int32, len(s.slotNames)), space: s.space}
	for i := range d.ids {
		d.ids[i] = -1
	}
	ids := map[string]int32{}
	d.byValue = ids
	for _, ni := range s.NodeInfoList {
		if ni.slot <= 0 || ni.Node() == nil {
			continue
		}
		v, ok := ni.Node().Labels[key]
		if !ok {
			continue
		}
		id, seen := ids[v]
		if !seen {
			id = int32(len(d.Values))
			ids[v] = id
			d.Values = append(d.Values, v)
		}
		d.ids[ni.slot-1] = id
	}
	return d
}
