package validation

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateJob(t *testing.T) {
	tests := []struct {
		name string
		job  *batchv1.Job
		want []string
	}{
		{name: "defaulted job is valid", job: testJob()},
		{
			name: "restartPolicy defaulted to Always",
			job:  testJob(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" }),
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "user selector without manualSelector",
			job: testJob(func(j *batchv1.Job) {
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
				j.Spec.Template.Labels = map[string]string{"app": "pi"}
			}),
			want: []string{"spec.selector: Invalid value: v1.LabelSelector{…"},
		},
		{
			name: "manual selector is accepted",
			job: testJob(func(j *batchv1.Job) {
				manual := true
				j.Spec.ManualSelector = &manual
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
				j.Spec.Template.Labels = map[string]string{"app": "pi"}
			}),
		},
		{
			name: "negative backoffLimit",
			job: testJob(func(j *batchv1.Job) {
				b := int32(-1)
				j.Spec.BackoffLimit = &b
			}),
			want: []string{"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "indexed job needs completions",
			job: testJob(func(j *batchv1.Job) {
				m := batchv1.IndexedCompletion
				p := int32(2)
				j.Spec.CompletionMode = &m
				j.Spec.Parallelism = &p
			}),
			want: []string{"spec.completions: Required value: when completion mode is Indexed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateJob(tc.job), tc.want)
		})
	}
}

func TestValidateJobUpdate(t *testing.T) {
	old := testJob()
	old.ResourceVersion = "1"
	tests := []struct {
		name   string
		old    *batchv1.Job
		mutate func(*batchv1.Job)
		want   []string
	}{
		{name: "parallelism may change", old: old, mutate: func(j *batchv1.Job) {
			p := int32(3)
			j.Spec.Parallelism = &p
		}},
		{
			name:   "template is immutable",
			old:    old,
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.36" },
			want:   []string{"spec.template: Invalid value: v1.PodTemplateSpec{…"},
		},
		{
			name: "suspended job may change node selector",
			old: func() *batchv1.Job {
				o := old.DeepCopy()
				s := true
				o.Spec.Suspend = &s
				return o
			}(),
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
		},
		{
			name:   "completions are immutable for NonIndexed jobs",
			old:    old,
			mutate: func(j *batchv1.Job) { c := int32(5); j.Spec.Completions = &c },
			want:   []string{"spec.completions: Invalid value: 5: field is immutable"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.old.DeepCopy()
			tc.mutate(j)
			checkErrors(t, ValidateJobUpdate(j, tc.old), tc.want)
		})
	}
}

func TestValidateCronJob(t *testing.T) {
	tz := func(s string) *string { return &s }
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		want []string
	}{
		{name: "defaulted cronjob is valid", cj: testCronJob()},
		{name: "descriptor schedule", cj: testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" })},
		{name: "names and ranges", cj: testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "0 9-17/2 * JAN-mar mon-fri" })},
		{name: "valid time zone", cj: testCronJob(func(c *batchv1.CronJob) { c.Spec.TimeZone = tz("Europe/Berlin") })},
		{
			name: "too few fields",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "foo" }),
			want: []string{`spec.schedule: Invalid value: "foo": expected exactly 5 fields, found 1: [foo]`},
		},
		{
			name: "minute out of range",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" }),
			want: []string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`},
		},
		{
			name: "not a number",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "* x * * *" }),
			want: []string{`spec.schedule: Invalid value: "* x * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		},
		{
			name: "unknown descriptor",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "@sometimes" }),
			want: []string{`spec.schedule: Invalid value: "@sometimes": unrecognized descriptor: @sometimes`},
		},
		{
			name: "TZ in schedule",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" }),
			want: []string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		},
		{
			name: "unknown time zone",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Spec.TimeZone = tz("Mars/Olympus") }),
			want: []string{`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`},
		},
		{
			name: "name too long",
			cj:   testCronJob(func(c *batchv1.CronJob) { c.Name = "a-very-long-cronjob-name-that-is-more-than-fifty-two-chars" }),
			want: []string{`metadata.name: Invalid value: "a-very-long-cronjob-name-that-is-more-than-fifty-two-chars": must be no more than 52 characters`},
		},
		{
			name: "bad concurrency policy and job restart policy",
			cj: testCronJob(func(c *batchv1.CronJob) {
				c.Spec.ConcurrencyPolicy = "Sometimes"
				c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			}),
			want: []string{
				`spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`,
				`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateCronJob(tc.cj), tc.want)
		})
	}
}

func TestValidateCronJobUpdate(t *testing.T) {
	old := testCronJob()
	old.ResourceVersion = "1"
	cj := old.DeepCopy()
	cj.Spec.Schedule = "0 0 * * *"
	checkErrors(t, ValidateCronJobUpdate(cj, old), nil)
	cj.Spec.Schedule = "0 0 * * 8"
	checkErrors(t, ValidateCronJobUpdate(cj, old), []string{`spec.schedule: Invalid value: "0 0 * * 8": end of range (8) above maximum (6): 8`})
}
