// Package batch defines the resources of the batch/v1 API group.
package batch

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
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

var ageColumn = metav1.TableColumnDefinition{Name: "Age", Type: "string",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created."}

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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				{Name: "Status", Type: "string", Description: "Status of the job."},
				{Name: "Completions", Type: "string", Description: "The desired number of successfully finished pods the job should be run with."},
				{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
				ageColumn,
				{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
				{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
				{Name: "Selector", Type: "string", Priority: 1, Description: "A label query over pods that should match the pod count."},
			},
			Cells: jobCells,
		},
	})
}

func jobCells(obj runtime.Object, now time.Time) []interface{} {
	j := obj.(*batchv1.Job)
	completions := fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, ptrOr(j.Spec.Parallelism, 1))
	if j.Spec.Completions != nil {
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	dur := ""
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		dur = duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		dur = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	var names, images []string
	for _, c := range j.Spec.Template.Spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	sel := "<none>"
	if s, err := metav1.LabelSelectorAsSelector(j.Spec.Selector); err == nil && !s.Empty() {
		sel = s.String()
	}
	return []interface{}{jobStatus(j), completions, dur, registry.Age(j.CreationTimestamp, now),
		strings.Join(names, ","), strings.Join(images, ","), sel}
}

func jobStatus(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status != "True" {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return "Complete"
		case batchv1.JobFailed:
			return "Failed"
		case batchv1.JobSuspended:
			return "Suspended"
		case batchv1.JobFailureTarget:
			return "FailureTarget"
		case batchv1.JobSuccessCriteriaMet:
			return "SuccessCriteriaMet"
		}
	}
	if j.DeletionTimestamp != nil {
		return "Terminating"
	}
	return "Running"
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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				{Name: "Schedule", Type: "string", Description: "The schedule in Cron format."},
				{Name: "Timezone", Type: "string", Description: "The time zone name for the given schedule."},
				{Name: "Suspend", Type: "boolean", Description: "This flag tells the controller to suspend subsequent executions."},
				{Name: "Active", Type: "integer", Description: "A list of pointers to currently running jobs."},
				{Name: "Last Schedule", Type: "string", Description: "Information when was the last time the job was successfully scheduled."},
				ageColumn,
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				c := obj.(*batchv1.CronJob)
				tz, last := "<none>", "<none>"
				if c.Spec.TimeZone != nil {
					tz = *c.Spec.TimeZone
				}
				if c.Status.LastScheduleTime != nil {
					last = registry.Age(*c.Status.LastScheduleTime, now)
				}
				return []interface{}{c.Spec.Schedule, tz, c.Spec.Suspend != nil && *c.Spec.Suspend,
					int64(len(c.Status.Active)), last, registry.Age(c.CreationTimestamp, now)}
			},
		},
	})
}
