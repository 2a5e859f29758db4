package namespace

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

var podsGVR = corev1.SchemeGroupVersion.WithResource("pods")

// servedResource is a namespaced resource and the verbs it serves.
type servedResource struct {
	gvr   schema.GroupVersionResource
	verbs []string
}

// leftover is what remains of one resource after a deletion pass.
type leftover struct {
	count      int
	finalizers map[string]int
	// wait is how long graceful deletions of what remains may still take.
	wait time.Duration
}

// deleteContent deletes everything left in ns, records the outcome in its
// conditions and returns how long to wait before looking again (0 when the
// namespace is empty).
func (c *Controller) deleteContent(ctx context.Context, ns *corev1.Namespace) (time.Duration, error) {
	conds := &conditionUpdater{now: c.now}
	var errs []error
	resources, err := c.namespacedResources()
	if err != nil {
		// Partial discovery is not fatal: delete what we can see.
		errs = append(errs, err)
		conds.discoveryFailed(err)
	}
	var (
		wait        time.Duration
		remaining   = map[schema.GroupVersionResource]int{}
		finalizers  = map[string]int{}
		contentErrs []error
	)
	for _, r := range resources {
		left, err := c.deleteResource(ctx, r, ns)
		if err != nil {
			contentErrs = append(contentErrs, err)
		}
		wait = max(wait, left.wait)
		if left.count > 0 {
			remaining[r.gvr] = left.count
			for f, n := range left.finalizers {
				finalizers[f] += n
			}
		}
	}
	conds.contentRemaining(remaining, finalizers)
	conds.contentFailed(contentErrs)
	errs = append(errs, contentErrs...)
	if conds.apply(ns) {
		if _, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("update conditions of namespace %s: %w", ns.Name, err))
		}
	}
	if len(errs) > 0 {
		return wait, utilerrors.NewAggregate(errs)
	}
	if len(remaining) > 0 && wait == 0 {
		wait = minRequeue
	}
	return wait, nil
}

// namespacedResources lists the preferred version of every namespaced
// resource that can be deleted.
func (c *Controller) namespacedResources() ([]servedResource, error) {
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	var out []servedResource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			out = append(out, servedResource{gvr: gv.WithResource(r.Name), verbs: r.Verbs})
		}
	}
	slices.SortFunc(out, func(a, b servedResource) int { return strings.Compare(a.gvr.String(), b.gvr.String()) })
	return out, err
}

// deleteResource deletes every object of one resource in ns and reports
// what is left.
func (c *Controller) deleteResource(ctx context.Context, r servedResource, ns *corev1.Namespace) (leftover, error) {
	var left leftover
	if r.gvr == podsGVR {
		wait, err := c.podGraceEstimate(ctx, ns)
		if err != nil {
			return left, err
		}
		left.wait = wait
	}
	client := c.metadata.Resource(r.gvr).Namespace(ns.Name)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	deleted := false
	if slices.Contains(r.verbs, "deletecollection") {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
			deleted = true
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
			// Fall back to one delete per object.
		default:
			return left, fmt.Errorf("delete %s in %s: %w", r.gvr.GroupResource(), ns.Name, err)
		}
	}
	if !slices.Contains(r.verbs, "list") {
		return left, nil
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return left, fmt.Errorf("list %s in %s: %w", r.gvr.GroupResource(), ns.Name, err)
	}
	if !deleted {
		for _, item := range list.Items {
			if item.DeletionTimestamp != nil {
				continue
			}
			if err := client.Delete(ctx, item.Name, opts); err != nil && !apierrors.IsNotFound(err) {
				return left, fmt.Errorf("delete %s %s/%s: %w", r.gvr.GroupResource(), ns.Name, item.Name, err)
			}
		}
		if list, err = client.List(ctx, metav1.ListOptions{}); err != nil {
			return left, fmt.Errorf("list %s in %s: %w", r.gvr.GroupResource(), ns.Name, err)
		}
	}
	left.count = len(list.Items)
	if left.count == 0 {
		return leftover{}, nil
	}
	unexplained := 0
	for _, item := range list.Items {
		for _, f := range item.Finalizers {
			if left.finalizers == nil {
				left.finalizers = map[string]int{}
			}
			left.finalizers[f]++
		}
		if len(item.Finalizers) == 0 && item.DeletionTimestamp == nil {
			unexplained++
		}
	}
	switch {
	case unexplained > 0:
		return left, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns.Name, r.gvr)
	case left.wait > 0:
	case len(left.finalizers) > 0:
		// Held by finalizers (often the garbage collector's): give them time.
		left.wait = finalizerEstimate
	default:
		// Marked for graceful deletion: a node agent is stopping them.
		left.wait = minRequeue
	}
	return left, nil
}

// podGraceEstimate is how long the pods of ns may still take to stop: the
// longest grace period of a running pod, less the time since the namespace
// deletion began.
func (c *Controller) podGraceEstimate(ctx context.Context, ns *corev1.Namespace) (time.Duration, error) {
	pods, err := c.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list pods in %s: %w", ns.Name, err)
	}
	var longest int64
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > longest {
			longest = *g
		}
	}
	est := time.Duration(longest)*time.Second - c.now().Sub(ns.DeletionTimestamp.Time)
	return max(est, 0), nil
}
