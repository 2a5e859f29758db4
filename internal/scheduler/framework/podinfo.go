package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodInfo is a pod with what the plugins derive from its spec, computed
// once: requests and parsed (anti-)affinity terms.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod reserves on a node (PodRequests).
	Requests Resource
	// NonZero is cpu/memory with the scoring defaults (NonZeroPodRequests).
	NonZero Resource

	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseError is set when a label selector of the pod's affinity does
	// not parse; such a pod cannot be scheduled.
	ParseError error
}

// AffinityTerm is a parsed pod (anti-)affinity term.
type AffinityTerm struct {
	// Namespaces the term selects pods in, besides NamespaceSelector.
	Namespaces sets.Set[string]
	Selector   labels.Selector
	matcher    LabelMatcher
	// NamespaceSelector selects namespaces by their labels; nil selects none.
	NamespaceSelector labels.Selector
	TopologyKey       string
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches reports whether pod, whose namespace has labels nsLabels, is
// selected by the term.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if t.Namespaces.Has(pod.Namespace) || (t.NamespaceSelector != nil && t.NamespaceSelector.Matches(nsLabels)) {
		return t.matcher.Matches(pod.Labels)
	}
	return false
}

// NewPodInfo derives a PodInfo. PodInfos are shared between the cache and
// snapshots and never change after this.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod, nil), NonZero: NonZeroPodRequests(pod)}
	a := pod.Spec.Affinity
	if a == nil {
		return pi
	}
	var errs []error
	if a.PodAffinity != nil {
		pi.RequiredAffinityTerms = parseTerms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAffinityTerms = parseWeighted(pod, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if a.PodAntiAffinity != nil {
		pi.RequiredAntiAffinityTerms = parseTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAntiAffinityTerms = parseWeighted(pod, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if len(errs) > 0 {
		pi.ParseError = errs[0]
	}
	return pi
}

// HasAffinity reports any pod affinity or anti-affinity term.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+
		len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
}

func parseTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm, errs *[]error) []AffinityTerm {
	out := make([]AffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i])
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

func parseWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm, errs *[]error) []WeightedAffinityTerm {
	out := make([]WeightedAffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// NewAffinityTerm parses a term of pod. With no namespaces and no namespace
// selector the term selects the pod's own namespace.
func NewAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity label selector: %w", pod.Namespace, pod.Name, err)
	}
	t := AffinityTerm{Selector: sel, matcher: NewLabelMatcher(sel), TopologyKey: term.TopologyKey, Namespaces: sets.New(term.Namespaces...)}
	if term.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity namespace selector: %w", pod.Namespace, pod.Name, err)
		}
		t.NamespaceSelector = nsSel
	} else if len(term.Namespaces) == 0 {
		t.Namespaces.Insert(pod.Namespace)
	}
	return t, nil
}

// Matcher returns the term's label matcher.
func (t *AffinityTerm) Matcher() *LabelMatcher { return &t.matcher }
