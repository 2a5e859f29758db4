package plugins

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestAntiAffinityFilterPerDomainMatchesLabelLookup: InterPodAffinity's
// Filter tests a node's domain number against the rejecting domains found
// in PreFilter; it must reject exactly the nodes label lookups reject.
func TestAntiAffinityFilterPerDomainMatchesLabelLookup(t *testing.T) {
	checkDomainFilters(t, domainFilterCase{
		stream: 7,
		plugin: func(fwk *framework.Framework, scanAll bool) domainFiltered {
			p, _ := NewInterPodAffinity(nil, fwk)
			p.(*InterPodAffinity).scanAll = scanAll
			return p.(*InterPodAffinity)
		},
		existing: randomAntiAffinityPod,
		incoming: func(rng *rand.Rand, i int) *corev1.Pod { return randomAntiAffinityPod(rng, fmt.Sprint("p", i), "") },
		fast: func(state *framework.CycleState) bool {
			s, _ := readState[*ipaFilterState](state, ipaPreFilterKey)
			for _, d := range append(s.existingAntiDomains, s.antiDomains...) {
				if d.domains != nil {
					return true
				}
			}
			return false
		},
	})
}

// randomAntiAffinityPod is labelled app=aN and, mostly, keeps pods with
// some app label out of its domain of a key with one value per node
// (hostname), few (zone, gen) or one the nodes may lack (tier).
func randomAntiAffinityPod(rng *rand.Rand, name, node string) *corev1.Pod {
	keys := []string{corev1.LabelHostname, corev1.LabelTopologyZone, "gen", "tier"}
	w := st.MakePod().Name(name).Node(node).Label("app", fmt.Sprint("a", rng.IntN(3)))
	for range rng.IntN(3) {
		w = w.PodAntiAffinity(st.PodAffinityTerm(keys[rng.IntN(len(keys))], "app", fmt.Sprint("a", rng.IntN(3))))
	}
	return w.Obj()
}
