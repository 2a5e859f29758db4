package namespace

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the deletion conditions a terminating namespace
// carries, in upstream's order.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// healthy is the False ("all good") variant of each condition.
var healthy = map[corev1.NamespaceConditionType]struct{ reason, message string }{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentHasNoFinalizers", "All content-preserving finalizers finished"},
}

// conditionUpdater collects the failing conditions of one deletion pass.
type conditionUpdater struct {
	now     func() time.Time
	failing []corev1.NamespaceCondition
}

func (u *conditionUpdater) fail(t corev1.NamespaceConditionType, reason, message string) {
	u.failing = append(u.failing, corev1.NamespaceCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastTransitionTime: metav1.NewTime(u.now()),
	})
}

func (u *conditionUpdater) discoveryFailed(err error) {
	msg := err.Error()
	var gerr *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &gerr) {
		msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(gerr.Groups), err)
	}
	u.fail(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", msg)
}

func (u *conditionUpdater) contentRemaining(remaining map[schema.GroupVersionResource]int, finalizers map[string]int) {
	var res []string
	for gvr, n := range remaining {
		res = append(res, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
	}
	slices.Sort(res)
	if len(res) > 0 {
		u.fail(corev1.NamespaceContentRemaining, "SomeResourcesRemain",
			"Some resources are remaining: "+strings.Join(res, ", "))
	}
	var fins []string
	for f, n := range finalizers {
		fins = append(fins, fmt.Sprintf("%s in %d resource instances", f, n))
	}
	slices.Sort(fins)
	if len(fins) > 0 {
		u.fail(corev1.NamespaceFinalizersRemaining, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: "+strings.Join(fins, ", "))
	}
}

func (u *conditionUpdater) contentFailed(errs []error) {
	if len(errs) == 0 {
		return
	}
	u.fail(corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
		fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(errs), utilerrors.NewAggregate(errs)))
}

// apply writes every condition (failing, or else its healthy variant) into
// ns and reports whether anything changed.
func (u *conditionUpdater) apply(ns *corev1.Namespace) bool {
	changed := false
	for _, t := range conditionTypes {
		want := corev1.NamespaceCondition{
			Type: t, Status: corev1.ConditionFalse, Reason: healthy[t].reason, Message: healthy[t].message,
			LastTransitionTime: metav1.NewTime(u.now()),
		}
		for _, f := range u.failing {
			if f.Type == t {
				want = f
			}
		}
		i := slices.IndexFunc(ns.Status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == t })
		if i < 0 {
			ns.Status.Conditions = append(ns.Status.Conditions, want)
			changed = true
			continue
		}
		cur := ns.Status.Conditions[i]
		if cur.Status == want.Status && cur.Reason == want.Reason && cur.Message == want.Message {
			continue
		}
		ns.Status.Conditions[i] = want
		changed = true
	}
	return changed
}
