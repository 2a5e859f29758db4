package cronjob_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/cronjob"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

var ctx = context.Background()

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a server and a cronjob controller on a fake clock.
type env struct {
	client kubernetes.Interface
	server *testserver.Server
	clock  *clock
	ns     string
	stop   func()
	ticks  int
}

func start(t *testing.T) *env {
	s := testserver.Start(t, nil)
	e := &env{client: s.Client, server: s, clock: &clock{t: time.Now()}}
	e.startController(t)
	t.Cleanup(func() { e.stop() })
	e.ns = "cron"
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// startController runs the controller as the manager would, with the fake
// clock.
func (e *env) startController(t *testing.T) {
	runCtx, cancel := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactory(e.client, 0)
	events := record.NewBroadcaster()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: e.client.CoreV1().Events("")})
	cc := &controller.Context{
		Client: e.client, Informers: factory, Events: events, Workers: 2,
		Log: slog.New(slog.DiscardHandler),
	}
	ctl := cronjob.New(cc, cronjob.Config{Now: e.clock.Now})
	factory.Start(runCtx.Done())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(runCtx) }()
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cronjob controller: %v", err)
		}
		factory.Shutdown()
		events.Shutdown()
	}
}

func (e *env) restart(t *testing.T) {
	e.stop()
	e.startController(t)
}

func (e *env) create(t *testing.T, name, schedule string, mut func(*batchv1.CronJob)) *batchv1.CronJob {
	t.Helper()
	tmpl := controllertest.PodTemplate(name, "busybox:1.36")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, TimeZone: ptr.To("UTC"),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}},
		},
	}
	if mut != nil {
		mut(cj)
	}
	got, err := e.client.BatchV1().CronJobs(e.ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// advance moves the clock to at and pokes the CronJob so the controller
// looks again at once (its own requeue runs on the real clock).
func (e *env) advance(t *testing.T, name string, at time.Time) {
	t.Helper()
	e.clock.Set(at)
	e.ticks++
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test/tick":"%d"}}}`, e.ticks)
	if _, err := e.client.BatchV1().CronJobs(e.ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// jobs returns the CronJob's Jobs by name.
func (e *env) jobs(t *testing.T) map[string]batchv1.Job {
	t.Helper()
	list, err := e.client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]batchv1.Job{}
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			out[j.Name] = j
		}
	}
	return out
}

func (e *env) waitJobs(t *testing.T, want ...string) map[string]batchv1.Job {
	t.Helper()
	var got map[string]batchv1.Job
	controllertest.Eventually(t, fmt.Sprintf("jobs %v", want), func() (bool, error) {
		got = e.jobs(t)
		if len(got) != len(want) {
			return false, fmt.Errorf("jobs %v", keys(got))
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				return false, fmt.Errorf("jobs %v", keys(got))
			}
		}
		return true, nil
	})
	return got
}

func keys(m map[string]batchv1.Job) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (e *env) waitEvent(t *testing.T, name, reason, substr string) {
	t.Helper()
	controllertest.Eventually(t, "event "+reason, func() (bool, error) {
		evs := controllertest.Events(t, e.client, e.ns, name)
		return controllertest.HasEvent(evs, reason, substr), fmt.Errorf("events %v", evs)
	})
}

// complete marks a Job finished as the job controller would.
func (e *env) complete(t *testing.T, name string, ct batchv1.JobConditionType, at time.Time) {
	t.Helper()
	j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(at)
	j.Status.StartTime = &now
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: ct, Status: corev1.ConditionTrue, LastTransitionTime: now})
	if ct == batchv1.JobComplete {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now})
		j.Status.CompletionTime = &now
		j.Status.Succeeded = 1
	} else {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now})
		j.Status.Failed = 1
	}
	if _, err := e.client.BatchV1().Jobs(e.ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// slot returns the n-th schedule time of "*/5 * * * *" after t.
func slot(t time.Time, n int) time.Time {
	first := t.UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
	return first.Add(time.Duration(n) * 5 * time.Minute)
}

func jobName(cj string, at time.Time) string {
	return cj + "-" + strconv.FormatInt(at.Unix()/60, 10)
}

func TestAllowRunsJobsAndKeepsHistory(t *testing.T) {
	e := start(t)
	cj := e.create(t, "tick", "*/5 * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To(int32(1))
	})
	t0 := slot(cj.CreationTimestamp.Time, 0)
	t1 := slot(cj.CreationTimestamp.Time, 1)
	t2 := slot(cj.CreationTimestamp.Time, 2)

	e.advance(t, "tick", t0.Add(time.Second))
	jobs := e.waitJobs(t, jobName("tick", t0))
	j0 := jobs[jobName("tick", t0)]
	if got := j0.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != t0.Format(time.RFC3339) {
		t.Errorf("scheduled-timestamp = %q, want %q", got, t0.Format(time.RFC3339))
	}
	if ref := metav1.GetControllerOf(&j0); ref == nil || ref.UID != cj.UID {
		t.Errorf("job controllerRef = %v, want the CronJob", ref)
	}
	e.waitEvent(t, "tick", "SuccessfulCreate", "Created job "+j0.Name)

	// Allow: the next time starts another Job while the first runs.
	e.advance(t, "tick", t1.Add(time.Second))
	e.waitJobs(t, jobName("tick", t0), jobName("tick", t1))
	controllertest.Eventually(t, "two active, lastScheduleTime t1", func() (bool, error) {
		got, err := e.client.BatchV1().CronJobs(e.ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		return len(s.Active) == 2 && s.LastScheduleTime != nil && s.LastScheduleTime.Time.Equal(t1), fmt.Errorf("status %+v", s)
	})

	// Both finish: one successful Job is kept, the older one deleted.
	e.complete(t, jobName("tick", t0), batchv1.JobComplete, t1.Add(2*time.Second))
	e.complete(t, jobName("tick", t1), batchv1.JobComplete, t1.Add(3*time.Second))
	e.advance(t, "tick", t1.Add(4*time.Second))
	e.waitJobs(t, jobName("tick", t1))
	controllertest.Eventually(t, "no active, lastSuccessfulTime", func() (bool, error) {
		got, err := e.client.BatchV1().CronJobs(e.ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		return len(s.Active) == 0 && s.LastSuccessfulTime != nil && s.LastSuccessfulTime.Time.Equal(t1.Add(3*time.Second)), fmt.Errorf("status %+v", s)
	})
	e.waitEvent(t, "tick", "SawCompletedJob", jobName("tick", t1))
	e.waitEvent(t, "tick", "SuccessfulDelete", "Deleted job "+jobName("tick", t0))

	// Restarted with a time passed while it was down: that time runs once.
	e.restart(t)
	e.advance(t, "tick", t2.Add(time.Minute))
	e.waitJobs(t, jobName("tick", t1), jobName("tick", t2))
	// Wait for the create to finish on the controller's side before the
	// next restart, or the restart cancels its response (and its event).
	e.waitEvent(t, "tick", "SuccessfulCreate", jobName("tick", t2))
	e.restart(t)
	e.advance(t, "tick", t2.Add(2*time.Minute))
	// Sync point: the t2 Job finishes, and only a controller that has
	// reconciled the CronJob since (on the clock moved past t2) records
	// it. Each pass creates any due Job before it writes the status, so
	// once the status shows the completion, a rerun would have happened.
	e.complete(t, jobName("tick", t2), batchv1.JobComplete, t2.Add(90*time.Second))
	controllertest.Eventually(t, "completion of t2 seen after restart", func() (bool, error) {
		got, err := e.client.BatchV1().CronJobs(e.ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		return len(s.Active) == 0 && s.LastScheduleTime != nil && s.LastScheduleTime.Time.Equal(t2) &&
			s.LastSuccessfulTime != nil && s.LastSuccessfulTime.Time.Equal(t2.Add(90*time.Second)), fmt.Errorf("status %+v", s)
	})
	// The history limit keeps the newest successful Job only, and nothing
	// else was started.
	e.waitJobs(t, jobName("tick", t2))
}

func TestForbidSkipsWhileRunning(t *testing.T) {
	e := start(t)
	cj := e.create(t, "solo", "*/5 * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	})
	t0, t1, t2 := slot(cj.CreationTimestamp.Time, 0), slot(cj.CreationTimestamp.Time, 1), slot(cj.CreationTimestamp.Time, 2)
	e.advance(t, "solo", t0.Add(time.Second))
	e.waitJobs(t, jobName("solo", t0))
	e.advance(t, "solo", t1.Add(time.Second))
	e.waitEvent(t, "solo", "JobAlreadyActive", "Forbid")
	if got := e.jobs(t); len(got) != 1 {
		t.Fatalf("jobs = %v, want only the first", keys(got))
	}
	// Once the first Job finishes, the held-back time runs late, as
	// upstream does without startingDeadlineSeconds.
	e.complete(t, jobName("solo", t0), batchv1.JobFailed, t1.Add(2*time.Second))
	e.waitJobs(t, jobName("solo", t0), jobName("solo", t1))
	e.advance(t, "solo", t2.Add(time.Second))
	e.waitEvent(t, "solo", "JobAlreadyActive", "Forbid")
	if got := e.jobs(t); len(got) != 2 {
		t.Errorf("jobs = %v, want t0 and t1 only", keys(got))
	}
}

func TestReplaceDeletesRunningJob(t *testing.T) {
	e := start(t)
	cj := e.create(t, "swap", "*/5 * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
	})
	t0, t1 := slot(cj.CreationTimestamp.Time, 0), slot(cj.CreationTimestamp.Time, 1)
	e.advance(t, "swap", t0.Add(time.Second))
	e.waitJobs(t, jobName("swap", t0))
	e.advance(t, "swap", t1.Add(time.Second))
	e.waitJobs(t, jobName("swap", t1))
	e.waitEvent(t, "swap", "SuccessfulDelete", jobName("swap", t0))
}

func TestStartingDeadlineMissed(t *testing.T) {
	e := start(t)
	cj := e.create(t, "late", "*/5 * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.StartingDeadlineSeconds = ptr.To(int64(30))
	})
	t0 := slot(cj.CreationTimestamp.Time, 0)
	// Seen 20s late: still within the deadline.
	e.advance(t, "late", t0.Add(20*time.Second))
	e.waitJobs(t, jobName("late", t0))
	// The next time is seen only a minute late: it is skipped, as
	// upstream skips times older than the deadline, and the one after
	// runs.
	t1, t2 := slot(cj.CreationTimestamp.Time, 1), slot(cj.CreationTimestamp.Time, 2)
	e.advance(t, "late", t1.Add(time.Minute))
	e.advance(t, "late", t2.Add(time.Second))
	e.waitJobs(t, jobName("late", t0), jobName("late", t2))
}

func TestTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	e := start(t)
	cj := e.create(t, "tz", "0 9 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Asia/Tokyo") })
	c := cj.CreationTimestamp.In(tokyo)
	at := time.Date(c.Year(), c.Month(), c.Day(), 9, 0, 0, 0, tokyo)
	if !at.After(c) {
		at = at.AddDate(0, 0, 1)
	}
	e.advance(t, "tz", at.Add(time.Second))
	jobs := e.waitJobs(t, jobName("tz", at))
	if got, want := jobs[jobName("tz", at)].Annotations[batchv1.CronJobScheduledTimestampAnnotation], at.Format(time.RFC3339); got != want {
		t.Errorf("scheduled-timestamp = %q, want %q", got, want)
	}
	// Deleting the CronJob's Job by hand is noticed; nothing is recreated
	// for a time already handled.
	background := metav1.DeletePropagationBackground
	if err := e.client.BatchV1().Jobs(e.ns).Delete(ctx, jobName("tz", at), metav1.DeleteOptions{PropagationPolicy: &background}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "active emptied", func() (bool, error) {
		got, err := e.client.BatchV1().CronJobs(e.ns).Get(ctx, "tz", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(got.Status.Active) == 0, fmt.Errorf("active %v, jobs %v", got.Status.Active, keys(e.jobs(t)))
	})
}

// TestJobDeletedAtOnceIsNotRecreated deletes the Job the moment it
// appears, usually before the controller's cache has the status that
// records it. The controller must not take its stale copy of the CronJob
// (no lastScheduleTime, nothing active) for the truth and start the same
// time again; status.active must end up empty.
func TestJobDeletedAtOnceIsNotRecreated(t *testing.T) {
	e := start(t)
	cj := e.create(t, "quick", "*/5 * * * *", nil)
	t0 := slot(cj.CreationTimestamp.Time, 0)
	w, err := e.client.BatchV1().Jobs(e.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.advance(t, "quick", t0.Add(time.Second))
	for ev := range w.ResultChan() {
		j, ok := ev.Object.(*batchv1.Job)
		if ev.Type != watch.Added || !ok {
			continue
		}
		if err := e.client.BatchV1().Jobs(e.ns).Delete(ctx, j.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &j.UID}}); err != nil {
			t.Fatal(err)
		}
		break
	}
	controllertest.Eventually(t, "time recorded, nothing active", func() (bool, error) {
		got, err := e.client.BatchV1().CronJobs(e.ns).Get(ctx, "quick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		return len(s.Active) == 0 && s.LastScheduleTime != nil && s.LastScheduleTime.Time.Equal(t0),
			fmt.Errorf("status %+v, jobs %v", s, keys(e.jobs(t)))
	})
	if got := e.jobs(t); len(got) != 0 {
		t.Errorf("jobs = %v, want none (the deleted one must not be recreated)", keys(got))
	}
}
