package plugins

import (
	"slices"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// rejectedDomains are the domains of one topology key in which Filter
// rejects the pod (pods counted there), numbered as in the snapshot's
// NodeDomains of the key: Filter tests a node by its domain number, next
// to the NodeInfo fields it loads anyway, instead of hashing the node's
// label value and then a (key, value) pair. Without NodeDomains (the
// snapshot had none for the key yet, or the NodeInfo is not the
// snapshot's) it looks the node's label up in the counts. Never changed
// once made: clones of the state share it.
type rejectedDomains struct {
	key     string
	domains *framework.NodeDomains
	// in holds bit id for each rejecting domain id.
	in []uint64
}

// rejectingDomains returns a rejectedDomains for each key, with the
// domains whose count in counts is positive; snap nil means label lookups
// only.
func rejectingDomains(snap *framework.Snapshot, counts topologyCounts, keys []string) []rejectedDomains {
	out := make([]rejectedDomains, len(keys))
	for i, key := range keys {
		out[i].key = key
		if snap == nil {
			continue
		}
		d := snap.NodeDomains(key)
		if d == nil {
			continue
		}
		in := make([]uint64, (len(d.Values)+63)/64)
		for pair, n := range counts {
			if pair.key != key || n <= 0 {
				continue
			}
			if id, ok := d.ID(pair.value); ok {
				in[id/64] |= 1 << (id % 64)
			}
		}
		out[i].domains, out[i].in = d, in
	}
	return out
}

// rejects reports whether ni's node is in a rejecting domain of any key.
func rejects(sets []rejectedDomains, counts topologyCounts, ni *framework.NodeInfo) bool {
	for i := range sets {
		d := &sets[i]
		if id, known := d.domains.Of(ni); known {
			if id >= 0 && d.in[id/64]&(1<<(id%64)) != 0 {
				return true
			}
			continue
		}
		if v, ok := ni.Node().Labels[d.key]; ok && counts[topologyPair{d.key, v}] > 0 {
			return true
		}
	}
	return false
}

// countedKeys returns the keys of counts' pairs, each once.
func countedKeys(counts topologyCounts) []string {
	var keys []string
	for pair := range counts {
		if !slices.Contains(keys, pair.key) {
			keys = append(keys, pair.key)
		}
	}
	return keys
}

// termKeys returns the topology keys of terms, each once.
func termKeys(terms []framework.AffinityTerm) []string {
	var keys []string
	for i := range terms {
		if !slices.Contains(keys, terms[i].TopologyKey) {
			keys = append(keys, terms[i].TopologyKey)
		}
	}
	return keys
}

// indexRejections (re)computes Filter's anti-affinity domain sets after
// existingAnti or anti changed.
func (s *ipaFilterState) indexRejections(snap *framework.Snapshot) {
	s.existingAntiDomains = rejectingDomains(snap, s.existingAnti, countedKeys(s.existingAnti))
	s.antiDomains = rejectingDomains(snap, s.anti, termKeys(s.pod.RequiredAntiAffinityTerms))
}
