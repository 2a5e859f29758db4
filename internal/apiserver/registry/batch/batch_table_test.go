package batch

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }

func job(edit func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", CreationTimestamp: *ago(10 * time.Minute)},
		Spec: batchv1.JobSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pi", Image: "perl:5.34"}}}},
		},
	}
	edit(j)
	return j
}

func TestJobTable(t *testing.T) {
	cols := []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}
	wide := []string{"CONTAINERS", "IMAGES", "SELECTOR"}
	one, four := int32(1), int32(4)
	cond := func(t batchv1.JobConditionType, s corev1.ConditionStatus) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: s}
	}
	tail := []interface{}{"10m", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=u1"}
	cells := func(head ...interface{}) []interface{} { return append(append([]interface{}{"pi"}, head...), tail...) }
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "not started", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj:       job(func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = &one, &one }),
			WantCells: cells("Running", "0/1", ""),
		},
		{
			Name: "running for three minutes", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj: job(func(j *batchv1.Job) {
				j.Spec.Completions = &four
				j.Status.StartTime, j.Status.Succeeded = ago(3*time.Minute), 2
			}),
			WantCells: cells("Running", "2/4", "3m"),
		},
		{
			Name: "complete", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj: job(func(j *batchv1.Job) {
				j.Spec.Completions = &one
				j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = ago(5*time.Minute), ago(4*time.Minute+15*time.Second), 1
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), cond(batchv1.JobComplete, corev1.ConditionTrue)}
			}),
			WantCells: cells("Complete", "1/1", "45s"),
		},
		{
			Name: "work queue with parallelism", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj: job(func(j *batchv1.Job) {
				j.Spec.Parallelism = &four
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue), cond(batchv1.JobFailed, corev1.ConditionTrue)}
			}),
			WantCells: cells("Failed", "0/1 of 4", ""),
		},
		{
			Name: "suspended", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj: job(func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue), cond(batchv1.JobComplete, corev1.ConditionFalse)}
			}),
			WantCells: cells("Suspended", "0/1", ""),
		},
		{
			Name: "being deleted", Res: Jobs(), WantColumns: cols, WantWide: wide,
			Obj: job(func(j *batchv1.Job) {
				j.DeletionTimestamp = ago(0)
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue)}
			}),
			WantCells: cells("Terminating", "0/1", ""),
		},
	})
}

func TestCronJobTable(t *testing.T) {
	cols := []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"}
	wide := []string{"CONTAINERS", "IMAGES", "SELECTOR"}
	no, tz := false, "Europe/Paris"
	cj := func(edit func(*batchv1.CronJob)) *batchv1.CronJob {
		c := &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default", CreationTimestamp: *ago(26 * time.Hour)},
			Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "backup", Image: "backup:1"}}}},
			}}},
		}
		edit(c)
		return c
	}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "never ran, suspend unset", Res: CronJobs(), WantColumns: cols, WantWide: wide,
			Obj:       cj(func(*batchv1.CronJob) {}),
			WantCells: []interface{}{"nightly", "0 3 * * *", "<none>", "<unset>", int64(0), "<none>", "26h", "backup", "backup:1", "<none>"},
		},
		{
			Name: "ran nine hours ago, one job active", Res: CronJobs(), WantColumns: cols, WantWide: wide,
			Obj: cj(func(c *batchv1.CronJob) {
				c.Spec.Suspend, c.Spec.TimeZone = &no, &tz
				c.Status.LastScheduleTime = ago(9 * time.Hour)
				c.Status.Active = []corev1.ObjectReference{{Name: "nightly-1"}}
			}),
			WantCells: []interface{}{"nightly", "0 3 * * *", "Europe/Paris", "False", int64(1), "9h", "26h", "backup", "backup:1", "<none>"},
		},
	})
}
