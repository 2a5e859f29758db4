package job

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// manage creates missing pods (once the failure backoff has passed) and
// deletes surplus ones. It returns the change in active pods and when to
// come back for a backoff still running.
func (c *Controller) manage(ctx context.Context, key string, job *batchv1.Job, pods, active []*corev1.Pod, now time.Time) (int, time.Duration, error) {
	parallelism := 1
	if job.Spec.Parallelism != nil {
		parallelism = int(*job.Spec.Parallelism)
	}
	var surplus []*corev1.Pod
	var create []int // completion indexes to create; -1 for NonIndexed
	if indexed(job) {
		surplus, create = c.planIndexed(job, pods, active, parallelism)
	} else {
		want := parallelism
		if n := completions(job); n >= 0 {
			want = min(want, max(0, n-int(job.Status.Succeeded)-len(job.Status.UncountedTerminatedPods.Succeeded)))
		} else if job.Status.Succeeded > 0 {
			want = len(active) // a work-queue Job drains once one pod succeeded
		}
		if diff := len(active) - want; diff > 0 {
			surplus = pickSurplus(active, diff)
		}
		for range want - len(active) {
			create = append(create, -1)
		}
	}
	if len(surplus) > 0 {
		n, err := c.deletePods(ctx, key, job, surplus)
		return -n, 0, err
	}
	if len(create) == 0 {
		return 0, 0, nil
	}
	if wait := backoffRemaining(pods, c.cfg.BackoffBase, c.cfg.BackoffMax, now); wait > 0 {
		return 0, wait, nil
	}
	n, err := c.createPods(ctx, key, job, create[:min(len(create), BurstPods)])
	return n, 0, err
}

// planIndexed returns the active pods to delete (bad or duplicate index,
// index already completed, beyond parallelism) and the lowest indexes that
// still need a pod, up to parallelism active pods.
func (c *Controller) planIndexed(job *batchv1.Job, pods, active []*corev1.Pod, parallelism int) ([]*corev1.Pod, []int) {
	n := completions(job)
	done := parseIndexes(job.Status.CompletedIndexes, n)
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded {
			if i, ok := podIndex(p, n); ok {
				done[i] = true
			}
		}
	}
	var surplus, keep []*corev1.Pod
	running := map[int]bool{}
	for _, p := range active {
		i, ok := podIndex(p, n)
		if !ok || done[i] || running[i] {
			surplus = append(surplus, p)
			continue
		}
		running[i] = true
		keep = append(keep, p)
	}
	if extra := len(keep) - parallelism; extra > 0 {
		// Drop the highest indexes beyond parallelism.
		slices.SortFunc(keep, func(a, b *corev1.Pod) int {
			ia, _ := podIndex(a, n)
			ib, _ := podIndex(b, n)
			return ib - ia
		})
		surplus = append(surplus, keep[:extra]...)
		keep = keep[extra:]
	}
	var create []int
	for i := 0; i < n && len(keep)+len(create) < parallelism; i++ {
		if !done[i] && !running[i] {
			create = append(create, i)
		}
	}
	return surplus, create
}

// pickSurplus returns n active pods to delete: unscheduled, then pending,
// then not ready, then the newest.
func pickSurplus(active []*corev1.Pod, n int) []*corev1.Pod {
	rank := func(p *corev1.Pod) int {
		switch {
		case p.Spec.NodeName == "":
			return 0
		case p.Status.Phase == corev1.PodPending:
			return 1
		case !controller.PodReady(p):
			return 2
		}
		return 3
	}
	sorted := slices.Clone(active)
	slices.SortStableFunc(sorted, func(a, b *corev1.Pod) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return sorted[:n]
}

// backoffRemaining is how long pod creation must still wait after the
// failures since the last success: base doubled per further failure,
// capped at maxDelay, counted from the last failure. Finished times come
// from the pods, so a restart keeps the backoff.
func backoffRemaining(pods []*corev1.Pod, base, maxDelay time.Duration, now time.Time) time.Duration {
	type end struct {
		at     time.Time
		failed bool
	}
	var ends []end
	for _, p := range pods {
		switch p.Status.Phase {
		case corev1.PodFailed:
			ends = append(ends, end{finishedAt(p), true})
		case corev1.PodSucceeded:
			ends = append(ends, end{finishedAt(p), false})
		}
	}
	slices.SortFunc(ends, func(a, b end) int { return a.at.Compare(b.at) })
	failures := 0
	var last time.Time
	for _, e := range ends {
		if !e.failed {
			failures = 0
			continue
		}
		failures++
		last = e.at
	}
	if failures == 0 {
		return 0
	}
	delay := base
	for i := 1; i < failures && delay < maxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, maxDelay)
	return last.Add(delay).Sub(now)
}

// finishedAt is when a finished pod's last container ended (or, without
// container statuses, when it was created).
func finishedAt(p *corev1.Pod) time.Time {
	var t time.Time
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Terminated != nil && s.State.Terminated.FinishedAt.After(t) {
			t = s.State.Terminated.FinishedAt.Time
		}
	}
	if t.IsZero() {
		if c := controller.PodReadyCondition(p); c != nil {
			t = c.LastTransitionTime.Time
		}
	}
	if t.IsZero() {
		t = p.CreationTimestamp.Time
	}
	return t
}

// createPods creates one pod per entry of indexes (-1: no index) in
// slow-start batches and returns how many were created.
func (c *Controller) createPods(ctx context.Context, key string, job *batchv1.Job, indexes []int) (int, error) {
	c.expectations.ExpectCreations(key, len(indexes))
	var (
		mu      sync.Mutex
		next    int // guarded by mu
		created int // guarded by mu
	)
	called, err := controller.SlowStart(len(indexes), func() error {
		mu.Lock()
		index := indexes[next]
		next++
		mu.Unlock()
		pod := c.newPod(job, index)
		got, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			c.expectations.CreationObserved(key)
			if controller.NamespaceGoing(err) || ctx.Err() != nil {
				return nil
			}
			c.recorder.Eventf(job, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
			return err
		}
		mu.Lock()
		created++
		mu.Unlock()
		c.recorder.Eventf(job, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", got.Name)
		return nil
	})
	for range len(indexes) - called {
		c.expectations.CreationObserved(key)
	}
	if err != nil {
		return created, fmt.Errorf("create pods for %s: %w", key, err)
	}
	return created, nil
}

// newPod builds a pod of job with the tracking finalizer; index >= 0 gives
// it a completion index (annotation, label, name and hostname).
func (c *Controller) newPod(job *batchv1.Job, index int) *corev1.Pod {
	prefix := job.Name + "-"
	if index >= 0 {
		prefix = fmt.Sprintf("%s-%d-", job.Name, index)
	}
	pod := controller.PodFromTemplate(&job.Spec.Template, job, kind, prefix)
	pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	if index >= 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(index)
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(index)
		if pod.Spec.Hostname == "" {
			pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
		}
		addCompletionIndexEnv(&pod.Spec)
	}
	return pod
}

// completionIndexEnv is the variable Indexed Jobs' containers find their
// index in, upstream's.
const completionIndexEnv = "JOB_COMPLETION_INDEX"

// addCompletionIndexEnv gives every container and init container
// JOB_COMPLETION_INDEX from the pod's completion-index annotation, unless
// it sets the variable itself.
func addCompletionIndexEnv(spec *corev1.PodSpec) {
	add := func(c *corev1.Container) {
		for _, e := range c.Env {
			if e.Name == completionIndexEnv {
				return
			}
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{
				APIVersion: "v1",
				FieldPath:  fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation),
			},
		}})
	}
	for i := range spec.InitContainers {
		add(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		add(&spec.Containers[i])
	}
}

// deletePods deletes pods of job and returns how many were deleted.
func (c *Controller) deletePods(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod) (int, error) {
	pc := controller.PodControl{Client: c.client, Recorder: c.recorder, Expectations: c.expectations}
	return pc.Delete(ctx, key, job, pods)
}
