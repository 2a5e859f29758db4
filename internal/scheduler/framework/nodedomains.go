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
	// ids is the domain of each slot's node, -1 when it lacks the key.
	ids []int32
	// names is the node of each slot, to recognise NodeInfos of other
	// snapshots (their slots mean nothing here).
	names []string
}

// Of returns the number of ni's node's domain, -1 when the node lacks the
// key; known is false for a NodeInfo this index does not cover, which the
// caller must then look up itself.
func (d *NodeDomains) Of(ni *NodeInfo) (id int32, known bool) {
	if d == nil || ni.slot <= 0 || int(ni.slot) > len(d.names) {
		return -1, false
	}
	i := ni.slot - 1
	if d.names[i] != ni.name {
		return -1, false
	}
	return d.ids[i], true
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
	d := &NodeDomains{ids: make([]int32, len(s.slotNames)), names: append([]string(nil), s.slotNames...)}
	for i := range d.ids {
		d.ids[i] = -1
	}
	ids := map[string]int32{}
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
