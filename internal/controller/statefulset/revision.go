package statefulset

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/skiffhq/skiff/internal/controller/history"
)

// ensureRevisions returns set's current and update revisions, creating or
// renumbering the update revision so it records spec.template.
func (c *Controller) ensureRevisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision, collisions *int32) (current, update *appsv1.ControllerRevision, err error) {
	data, err := history.TemplateData(&set.Spec.Template)
	if err != nil {
		return nil, nil, err
	}
	owner := history.Owner{Object: set, Kind: kind, Labels: set.Spec.Template.Labels, Annotations: set.Annotations}
	update, err = c.history.Ensure(ctx, owner, data, revs, collisions)
	if err != nil {
		return nil, nil, err
	}
	current = update
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision && r.Name != update.Name {
			current = r
		}
	}
	return current, update, nil
}

// applyRevision returns set with the template rev records.
func applyRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	orig, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode statefulset: %w", err)
	}
	patched, err := strategicpatch.StrategicMergePatch(orig, rev.Data.Raw, &appsv1.StatefulSet{})
	if err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	out := &appsv1.StatefulSet{}
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, fmt.Errorf("decode revision %s: %w", rev.Name, err)
	}
	return out, nil
}

// truncateHistory deletes the oldest revisions that no pod uses and that
// are neither current nor the update revision, beyond
// revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, st appsv1.StatefulSetStatus) error {
	live := map[string]bool{st.CurrentRevision: true, st.UpdateRevision: true}
	for _, p := range pods {
		live[p.Labels[appsv1.ControllerRevisionHashLabelKey]] = true
	}
	limit := int32(10)
	if set.Spec.RevisionHistoryLimit != nil {
		limit = *set.Spec.RevisionHistoryLimit
	}
	return c.history.Truncate(ctx, revs, live, limit)
}
