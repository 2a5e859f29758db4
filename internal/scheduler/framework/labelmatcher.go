package framework

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// LabelMatcher matches a label selector against label maps. Selectors made
// only of single-value equality requirements (matchLabels, the common
// case) are matched with one map lookup per requirement; the rest go
// through labels.Selector.
type LabelMatcher struct {
	sel  labels.Selector
	eq   []labelPair
	fast bool
}

type labelPair struct{ key, value string }

// NewLabelMatcher prepares sel.
func NewLabelMatcher(sel labels.Selector) LabelMatcher {
	m := LabelMatcher{sel: sel}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return m
	}
	for _, r := range reqs {
		op := r.Operator()
		vals := r.Values()
		if (op != selection.Equals && op != selection.DoubleEquals && op != selection.In) || vals.Len() != 1 {
			return m
		}
		m.eq = append(m.eq, labelPair{r.Key(), vals.UnsortedList()[0]})
	}
	m.fast = true
	return m
}

// Matches reports whether the labels satisfy the selector.
func (m *LabelMatcher) Matches(l map[string]string) bool {
	if !m.fast {
		return m.sel.Matches(labels.Set(l))
	}
	for _, p := range m.eq {
		if v, ok := l[p.key]; !ok || v != p.value {
			return false
		}
	}
	return true
}

// Selector is the selector matched.
func (m *LabelMatcher) Selector() labels.Selector { return m.sel }

// firstPair returns the first equality requirement of a fast matcher.
func (m *LabelMatcher) firstPair() (labelPair, bool) {
	if !m.fast || len(m.eq) == 0 {
		return labelPair{}, false
	}
	return m.eq[0], true
}

// EqualityPairs returns the key/value pairs of a selector made only of
// single-value equality requirements; ok is false for other selectors.
func (m *LabelMatcher) EqualityPairs() (pairs [][2]string, ok bool) {
	if !m.fast {
		return nil, false
	}
	for _, p := range m.eq {
		pairs = append(pairs, [2]string{p.key, p.value})
	}
	return pairs, true
}
