package job

import (
	"context"
	"fmt"
	"slices"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// finalizerPatch removes the tracking finalizer, guarded by the pod's UID.
const finalizerPatch = `{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q],"uid":%q}}`

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// podFailed reports whether a finished or going pod counts as a failure:
// Failed, or being deleted before it succeeded (it will never report), as
// upstream counts with podReplacementPolicy TerminatingOrFailed. Pods
// deleted because the Job is suspended are not failures.
func podFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(job) || suspended(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func onlyReplaceFailed(job *batchv1.Job) bool {
	return job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed
}

// removeFinalizers drops the tracking finalizer from every pod of pods that
// has it and reports the first error.
func (c *Controller) removeFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error // guarded by mu
	)
	for _, p := range pods {
		if !hasTrackingFinalizer(p) {
			continue
		}
		if c.finalizerRemoved(p.UID) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			patch := fmt.Sprintf(finalizerPatch, batchv1.JobTrackingFinalizer, p.UID)
			_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && !apierrors.IsInvalid(err) {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("remove tracking finalizer of pod %s/%s: %w", p.Namespace, p.Name, err)
				}
				mu.Unlock()
				return
			}
			c.mu.Lock()
			c.unfinalized[p.UID] = struct{}{}
			c.mu.Unlock()
		}()
	}
	wg.Wait()
	return firstErr
}

// finalizerRemoved reports whether this controller removed uid's finalizer.
func (c *Controller) finalizerRemoved(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.unfinalized[uid]
	return ok
}

// forgetRemoved drops the UIDs of pods the cache shows without the
// finalizer, or no longer shows.
func (c *Controller) forgetRemoved(pods []*corev1.Pod, uncounted map[types.UID]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	withFinalizer := map[types.UID]bool{}
	for _, p := range pods {
		if hasTrackingFinalizer(p) {
			withFinalizer[p.UID] = true
		}
	}
	for uid := range c.unfinalized {
		if !withFinalizer[uid] && !uncounted[uid] {
			delete(c.unfinalized, uid)
		}
	}
}

// track counts finished pods in two written steps, so that no restart or
// stale cache loses or repeats a count:
//
//  1. finished pods still holding the finalizer are added to
//     status.uncountedTerminatedPods, and the status is written;
//  2. their finalizers are removed; each UID whose pod no longer holds the
//     finalizer moves from uncountedTerminatedPods to succeeded or failed
//     (and, for Indexed Jobs, completedIndexes) in status, which the
//     caller writes with the rest of the status.
//
// It returns the job as written by step 1.
func (c *Controller) track(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (*batchv1.Job, error) {
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	u := job.Status.UncountedTerminatedPods
	inUncounted := map[types.UID]bool{}
	for _, uid := range append(slices.Clone(u.Succeeded), u.Failed...) {
		inUncounted[uid] = true
	}
	c.forgetRemoved(pods, inUncounted)
	added := false
	for _, p := range pods {
		if !hasTrackingFinalizer(p) || inUncounted[p.UID] || c.finalizerRemoved(p.UID) {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			u.Succeeded = append(u.Succeeded, p.UID)
		case podFailed(p, job) && !ignoredFailure(job, p):
			u.Failed = append(u.Failed, p.UID)
		default:
			continue
		}
		inUncounted[p.UID] = true
		added = true
	}
	if added {
		written, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("record finished pods of %s/%s: %w", job.Namespace, job.Name, err)
		}
		job = written
		u = job.Status.UncountedTerminatedPods
	}
	var release []*corev1.Pod
	for _, p := range pods {
		// Pods deleted while the Job is suspended go without counting.
		// So do failures a podFailurePolicy Ignore rule matches.
		uncountedGoing := p.DeletionTimestamp != nil && suspended(job) && podRunning(p)
		if inUncounted[p.UID] || uncountedGoing || ignoredFailure(job, p) {
			release = append(release, p)
		}
	}
	if err := c.removeFinalizers(ctx, release); err != nil {
		return nil, err
	}
	// Move every UID whose pod no longer holds the finalizer.
	byUID := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		byUID[p.UID] = p
	}
	released := func(uid types.UID) bool {
		p := byUID[uid]
		return p == nil || !hasTrackingFinalizer(p) || c.finalizerRemoved(uid)
	}
	indexes := parseIndexes(job.Status.CompletedIndexes, completions(job))
	var keepSucceeded, keepFailed []types.UID
	for _, uid := range u.Succeeded {
		if !released(uid) {
			keepSucceeded = append(keepSucceeded, uid)
			continue
		}
		if indexed(job) {
			if p := byUID[uid]; p != nil {
				if i, ok := podIndex(p, completions(job)); ok {
					indexes[i] = true
				}
			}
			job.Status.Succeeded = int32(len(indexes))
		} else {
			job.Status.Succeeded++
		}
	}
	for _, uid := range u.Failed {
		if !released(uid) {
			keepFailed = append(keepFailed, uid)
			continue
		}
		job.Status.Failed++
	}
	u.Succeeded, u.Failed = keepSucceeded, keepFailed
	if indexed(job) {
		job.Status.CompletedIndexes = formatIndexes(indexes)
	}
	return job, nil
}

// podRunning reports whether a pod has not reached a terminal phase.
func podRunning(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}
