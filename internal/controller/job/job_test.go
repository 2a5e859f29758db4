package job_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

var ctx = context.Background()

func newJob(ns, name string, completions, parallelism int32) *batchv1.Job {
	tmpl := controllertest.PodTemplate(name, "busybox:1.36")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.JobSpec{
			Completions: &completions, Parallelism: &parallelism, Template: tmpl,
		},
	}
}

type env struct {
	*controllertest.Env
	nodes *nodesim.Nodes
	ns    string
}

func start(t *testing.T) *env {
	e := controllertest.Start(t, manager.Options{Controllers: []string{"job"}})
	nodes := nodesim.Start(t, e.Client, nodesim.Options{Count: 2, Bind: true})
	return &env{Env: e, nodes: nodes, ns: e.Namespace("job")}
}

func (e *env) create(t *testing.T, job *batchv1.Job) *batchv1.Job {
	t.Helper()
	got, err := e.Client.BatchV1().Jobs(e.ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// podsOf lists the pods controlled by the Job.
func podsOf(t *testing.T, c kubernetes.Interface, job *batchv1.Job) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == job.UID {
			out = append(out, p)
		}
	}
	return out
}

// finishRunning ends every running pod of the Job in phase, until want
// pods have been ended this way.
func (e *env) finishRunning(t *testing.T, job *batchv1.Job, phase corev1.PodPhase, want int) {
	t.Helper()
	ended := map[types.UID]bool{}
	controllertest.Eventually(t, fmt.Sprintf("%d pods of %s %s", want, job.Name, phase), func() (bool, error) {
		for _, p := range podsOf(t, e.Client, job) {
			if len(ended) < want && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && !ended[p.UID] {
				e.nodes.Finish(p.Namespace, p.Name, phase)
				ended[p.UID] = true
			}
		}
		done := 0
		for _, p := range podsOf(t, e.Client, job) {
			if ended[p.UID] && p.Status.Phase == phase {
				done++
			}
		}
		return done >= want, fmt.Errorf("%d of %d ended", done, want)
	})
}

// waitCondition waits for the Job's condition t to be True with reason.
func (e *env) waitCondition(t *testing.T, name string, ct batchv1.JobConditionType, reason string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	controllertest.Eventually(t, fmt.Sprintf("job %s condition %s/%s", name, ct, reason), func() (bool, error) {
		var err error
		job, err = e.Client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range job.Status.Conditions {
			if c.Type == ct && c.Status == corev1.ConditionTrue && c.Reason == reason {
				return true, nil
			}
		}
		return false, fmt.Errorf("status %+v", job.Status)
	})
	return job
}

func hasCondition(job *batchv1.Job, ct batchv1.JobConditionType, reason string) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == ct && c.Status == corev1.ConditionTrue && c.Reason == reason {
			return true
		}
	}
	return false
}

// waitNoFinalizers waits until no pod of the Job holds the tracking
// finalizer.
func (e *env) waitNoFinalizers(t *testing.T, job *batchv1.Job) {
	t.Helper()
	controllertest.Eventually(t, "tracking finalizers removed", func() (bool, error) {
		for _, p := range podsOf(t, e.Client, job) {
			if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				return false, fmt.Errorf("pod %s still has it", p.Name)
			}
		}
		return true, nil
	})
}

func TestCompletesWithParallelism(t *testing.T) {
	e := start(t)
	job := e.create(t, newJob(e.ns, "pi", 4, 2))
	controllertest.Eventually(t, "two active pods", func() (bool, error) {
		pods := podsOf(t, e.Client, job)
		for _, p := range pods {
			if !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				return false, fmt.Errorf("pod %s has no tracking finalizer", p.Name)
			}
		}
		return len(pods) == 2, fmt.Errorf("%d pods", len(pods))
	})
	e.finishRunning(t, job, corev1.PodSucceeded, 4)
	got := e.waitCondition(t, "pi", batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
	if !hasCondition(got, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached) {
		t.Errorf("no SuccessCriteriaMet condition: %+v", got.Status.Conditions)
	}
	if got.Status.Succeeded != 4 || got.Status.Failed != 0 || got.Status.Active != 0 {
		t.Errorf("status succeeded/failed/active = %d/%d/%d, want 4/0/0", got.Status.Succeeded, got.Status.Failed, got.Status.Active)
	}
	if got.Status.StartTime == nil || got.Status.CompletionTime == nil {
		t.Errorf("startTime %v completionTime %v, want both set", got.Status.StartTime, got.Status.CompletionTime)
	}
	if n := len(podsOf(t, e.Client, job)); n != 4 {
		t.Errorf("pods = %d, want 4", n)
	}
	e.waitNoFinalizers(t, job)
	controllertest.Eventually(t, "events", func() (bool, error) {
		evs := controllertest.Events(t, e.Client, e.ns, "pi")
		return controllertest.HasEvent(evs, "SuccessfulCreate", "Created pod: pi-") &&
			controllertest.HasEvent(evs, "Completed", "Job completed"), fmt.Errorf("events %v", evs)
	})
}

func TestIndexed(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "idx", 3, 3)
	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job := e.create(t, j)
	controllertest.Eventually(t, "three indexed pods", func() (bool, error) {
		pods := podsOf(t, e.Client, job)
		var idx []string
		for _, p := range pods {
			i := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			if p.Labels[batchv1.JobCompletionIndexAnnotation] != i || p.Spec.Hostname != "idx-"+i {
				return false, fmt.Errorf("pod %s: label %q hostname %q", p.Name, p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname)
			}
			idx = append(idx, i)
		}
		slices.Sort(idx)
		return slices.Equal(idx, []string{"0", "1", "2"}), fmt.Errorf("indexes %v", idx)
	})
	// Index 1 fails once and is retried under the same index.
	var one corev1.Pod
	for _, p := range podsOf(t, e.Client, job) {
		if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "1" {
			one = p
		}
	}
	e.nodes.Finish(e.ns, one.Name, corev1.PodFailed)
	controllertest.Eventually(t, "index 1 replaced", func() (bool, error) {
		for _, p := range podsOf(t, e.Client, job) {
			if p.UID != one.UID && p.Annotations[batchv1.JobCompletionIndexAnnotation] == "1" {
				return true, nil
			}
		}
		return false, nil
	})
	e.finishRunning(t, job, corev1.PodSucceeded, 3)
	got := e.waitCondition(t, "idx", batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
	if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 || got.Status.Failed != 1 {
		t.Errorf("completedIndexes %q succeeded %d failed %d, want 0-2, 3, 1", got.Status.CompletedIndexes, got.Status.Succeeded, got.Status.Failed)
	}
}

func TestBackoffLimitExceeded(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "flaky", 1, 1)
	j.Spec.BackoffLimit = ptr.To(int32(0))
	job := e.create(t, j)
	e.finishRunning(t, job, corev1.PodFailed, 1)
	got := e.waitCondition(t, "flaky", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	if !hasCondition(got, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) {
		t.Errorf("no FailureTarget condition: %+v", got.Status.Conditions)
	}
	if got.Status.Failed != 1 || got.Status.Active != 0 || got.Status.CompletionTime != nil {
		t.Errorf("failed %d active %d completionTime %v, want 1, 0, nil", got.Status.Failed, got.Status.Active, got.Status.CompletionTime)
	}
	if n := len(podsOf(t, e.Client, job)); n != 1 {
		t.Errorf("pods = %d, want 1 (no retry)", n)
	}
	e.waitNoFinalizers(t, job)
	controllertest.Eventually(t, "BackoffLimitExceeded event", func() (bool, error) {
		evs := controllertest.Events(t, e.Client, e.ns, "flaky")
		return controllertest.HasEvent(evs, "BackoffLimitExceeded", "backoff limit"), fmt.Errorf("events %v", evs)
	})
}

func TestActiveDeadlineExceeded(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "slow", 3, 2)
	j.Spec.ActiveDeadlineSeconds = ptr.To(int64(1))
	job := e.create(t, j)
	got := e.waitCondition(t, "slow", batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
	if got.Status.Active != 0 {
		t.Errorf("active = %d, want 0", got.Status.Active)
	}
	controllertest.Eventually(t, "pods deleted", func() (bool, error) {
		pods := podsOf(t, e.Client, job)
		return len(pods) == 0, fmt.Errorf("%d pods left", len(pods))
	})
}

func TestPodFailurePolicyFailJob(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "policy", 2, 1)
	j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action:      batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
	}}}
	job := e.create(t, j)
	e.finishRunning(t, job, corev1.PodFailed, 1)
	got := e.waitCondition(t, "policy", batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy)
	if c := got.Status.Conditions; len(c) == 0 || got.Status.Failed != 1 {
		t.Errorf("failed = %d, conditions %+v", got.Status.Failed, c)
	}
}

func TestSuspendAndResume(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "later", 1, 1)
	j.Spec.Suspend = ptr.To(true)
	job := e.create(t, j)
	e.waitCondition(t, "later", batchv1.JobSuspended, "JobSuspended")
	if n := len(podsOf(t, e.Client, job)); n != 0 {
		t.Fatalf("suspended job has %d pods", n)
	}
	if _, err := e.Client.BatchV1().Jobs(e.ns).Patch(ctx, "later", types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.finishRunning(t, job, corev1.PodSucceeded, 1)
	got := e.waitCondition(t, "later", batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
	if c := got.Status.Conditions; !slices.ContainsFunc(c, func(c batchv1.JobCondition) bool {
		return c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionFalse && c.Reason == "JobResumed"
	}) {
		t.Errorf("conditions %+v, want Suspended False JobResumed", c)
	}
}

// TestRestartLosesNothing stops the controller while pods finish and
// checks that every success is counted exactly once afterwards.
func TestRestartLosesNothing(t *testing.T) {
	e := start(t)
	job := e.create(t, newJob(e.ns, "steady", 4, 2))
	e.finishRunning(t, job, corev1.PodSucceeded, 1)
	controllertest.Eventually(t, "one success counted", func() (bool, error) {
		got, err := e.Client.BatchV1().Jobs(e.ns).Get(ctx, "steady", metav1.GetOptions{})
		return err == nil && got.Status.Succeeded == 1, err
	})
	e.StopManager()
	e.finishRunning(t, job, corev1.PodSucceeded, 2) // the pods running while stopped
	e.StartManager()
	e.finishRunning(t, job, corev1.PodSucceeded, 1)
	got := e.waitCondition(t, "steady", batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
	if got.Status.Succeeded != 4 {
		t.Errorf("succeeded = %d, want 4", got.Status.Succeeded)
	}
	if n := len(podsOf(t, e.Client, job)); n != 4 {
		t.Errorf("pods = %d, want 4", n)
	}
}
