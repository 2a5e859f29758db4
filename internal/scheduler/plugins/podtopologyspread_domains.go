package plugins

import "github.com/skiffhq/skiff/internal/scheduler/framework"

// maxVerdictDomains is the most domains of a topology key for which
// PreFilter decides Filter per domain (zones, racks); keys with more
// (hostname) would cost PreFilter more than Filter saves.
const maxVerdictDomains = 256

// domainVerdicts is the Filter answer of one spread constraint for each
// domain of its key: over[id] reports that the pod in domain id would
// exceed maxSkew. Never changed once made (clones of the state share it).
type domainVerdicts struct {
	domains *framework.NodeDomains
	over    []bool
}

// exceeds reports whether placing the pod in the domain value of
// constraint i's key exceeds the constraint's maxSkew.
func (s *spreadFilterState) exceeds(i int, value string) bool {
	c := &s.constraints[i]
	minMatch := s.minMatch[i]
	if int32(s.domains[i]) < c.MinDomains {
		minMatch = 0
	}
	return s.counts[i][value]+s.self[i]-minMatch > c.MaxSkew
}

// decideDomains decides Filter per domain for the constraints whose key
// has few domains in snap.
func (s *spreadFilterState) decideDomains(snap *framework.Snapshot) {
	for i := range s.constraints {
		d := snap.NodeDomains(s.constraints[i].TopologyKey)
		if d == nil || len(d.Values) > maxVerdictDomains {
			continue
		}
		s.verdicts[i] = &domainVerdicts{domains: d}
		s.decideDomain(i)
	}
}

// decideDomain (re)decides constraint i per domain after its counts
// changed; it replaces the verdicts rather than changing them.
func (s *spreadFilterState) decideDomain(i int) {
	if s.verdicts[i] == nil {
		return
	}
	d := s.verdicts[i].domains
	v := &domainVerdicts{domains: d, over: make([]bool, len(d.Values))}
	for id, value := range d.Values {
		v.over[id] = s.exceeds(i, value)
	}
	s.verdicts[i] = v
}
