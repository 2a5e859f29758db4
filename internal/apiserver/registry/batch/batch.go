// Package batch defines the resources of the batch/v1 API group.
package batch

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// Resources lists the batch/v1 resources.
func Resources() []*registry.Resource { return []*registry.Resource{CronJobs(), Jobs()} }

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: r}
}

var (
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1,
		Description: "Names of each container in the template."}
	imagesColumn = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1,
		Description: "Images referenced by each container in the template."}
	selectorColumn = metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1,
		Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]}
)

// Jobs is batch/v1 jobs.
func Jobs() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("jobs"), Kind: "Job", SingularName: "job", Namespaced: true, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true,
		New:     func() runtime.Object { return &batchv1.Job{} },
		NewList: func() runtime.Object { return &batchv1.JobList{} },
	}, registry.Strategy[*batchv1.Job]{
		Default:        defaults.Job,
		Validate:       validation.ValidateJob,
		ValidateUpdate: validation.ValidateJobUpdate,
		FieldSet: func(j *batchv1.Job) fields.Set {
			return fields.Set{"status.successful": fmt.Sprint(j.Status.Succeeded)}
		},
		Table: jobTable,
	})
}

var jobTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Status", Type: "string", Description: "Status of the job."},
	{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
	{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
	selectorColumn,
}, func(j *batchv1.Job, now time.Time) []interface{} {
	names, images := registry.ContainerCells(j.Spec.Template.Spec.Containers)
	return []interface{}{jobStatus(j), jobCompletions(j), jobDuration(j, now), registry.Age(j.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(j.Spec.Selector)}
})

// jobCompletions is the COMPLETIONS cell: succeeded/completions, or for a
// work-queue job (no completions) succeeded/1, "of N" when N pods run at once.
func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	if p := ptrOr(j.Spec.Parallelism, 0); p > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, p)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

// jobDuration is how long the job ran (so far), empty before it started.
func jobDuration(j *batchv1.Job, now time.Time) string {
	switch {
	case j.Status.StartTime == nil:
		return ""
	case j.Status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	}
	return duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
}

// jobStatus is the STATUS cell, from the first condition that applies in
// the order Complete, Failed, (being deleted), Suspended, FailureTarget.
func jobStatus(j *batchv1.Job) string {
	switch {
	case jobCondition(j, batchv1.JobComplete):
		return "Complete"
	case jobCondition(j, batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(j, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(j, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// jobCondition reports whether the job's first condition of type t is True.
func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// CronJobs is batch/v1 cronjobs.
func CronJobs() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("cronjobs"), Kind: "CronJob", SingularName: "cronjob", Namespaced: true,
		ShortNames: []string{"cj"}, Categories: []string{"all"}, HasStatus: true, TracksGeneration: true,
		New:     func() runtime.Object { return &batchv1.CronJob{} },
		NewList: func() runtime.Object { return &batchv1.CronJobList{} },
	}, registry.Strategy[*batchv1.CronJob]{
		Default:        defaults.CronJob,
		Validate:       validation.ValidateCronJob,
		ValidateUpdate: validation.ValidateCronJobUpdate,
		Table:          cronJobTable,
	})
}

var (
	cronJobSpecDocs   = batchv1.CronJobSpec{}.SwaggerDoc()
	cronJobStatusDocs = batchv1.CronJobStatus{}.SwaggerDoc()
)

var cronJobTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Schedule", Type: "string", Description: cronJobSpecDocs["schedule"]},
	{Name: "Timezone", Type: "string", Description: cronJobSpecDocs["timeZone"]},
	{Name: "Suspend", Type: "boolean", Description: cronJobSpecDocs["suspend"]},
	{Name: "Active", Type: "integer", Description: cronJobStatusDocs["active"]},
	{Name: "Last Schedule", Type: "string", Description: cronJobStatusDocs["lastScheduleTime"]},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
	selectorColumn,
}, func(c *batchv1.CronJob, now time.Time) []interface{} {
	tz, last := "<none>", "<none>"
	if c.Spec.TimeZone != nil {
		tz = *c.Spec.TimeZone
	}
	if c.Status.LastScheduleTime != nil {
		last = registry.Age(*c.Status.LastScheduleTime, now)
	}
	tmpl := &c.Spec.JobTemplate.Spec
	names, images := registry.ContainerCells(tmpl.Template.Spec.Containers)
	return []interface{}{c.Spec.Schedule, tz, registry.BoolPtrCell(c.Spec.Suspend), int64(len(c.Status.Active)), last,
		registry.Age(c.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(tmpl.Selector)}
})
