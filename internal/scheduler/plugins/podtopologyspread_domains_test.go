package plugins

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestSpreadFilterPerDomainMatchesLabelLookup: PodTopologySpread's
// Filter answers from verdicts decided once per domain of the snapshot;
// it must reject exactly the nodes label lookups reject.
func TestSpreadFilterPerDomainMatchesLabelLookup(t *testing.T) {
	checkDomainFilters(t, domainFilterCase{
		stream: 4,
		plugin: func(fwk *framework.Framework, scanAll bool) domainFiltered {
			p, _ := NewPodTopologySpread(nil, fwk)
			p.(*PodTopologySpread).scanAll = scanAll
			return p.(*PodTopologySpread)
		},
		existing: func(rng *rand.Rand, name, node string) *corev1.Pod { return st.RandomPod(rng, name, node).Obj() },
		incoming: randomSpreadPod,
		fast: func(state *framework.CycleState) bool {
			s, _ := readState[*spreadFilterState](state, spreadPreFilterKey)
			return s.verdicts[0] != nil
		},
	})
}

// randomSpreadPod has a DoNotSchedule constraint on a key with few values
// (zone, gen) or one per node (hostname), sometimes with minDomains.
func randomSpreadPod(rng *rand.Rand, i int) *corev1.Pod {
	keys := []string{corev1.LabelTopologyZone, "gen", corev1.LabelHostname}
	c := corev1.TopologySpreadConstraint{MaxSkew: int32(1 + rng.IntN(2)), TopologyKey: keys[rng.IntN(len(keys))],
		WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprint("a", rng.IntN(4))}}}
	if rng.IntN(3) == 0 {
		m := int32(1 + rng.IntN(5))
		c.MinDomains = &m
	}
	return st.MakePod().Name(fmt.Sprint("s", i)).Label("app", fmt.Sprint("a", rng.IntN(4))).SpreadConstraint(c).Obj()
}
