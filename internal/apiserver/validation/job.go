package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // CronJob timeZone must not depend on the host's zoneinfo

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxParallelismForIndexedJob = 100000
	maxCronJobNameLength        = 52 // 63 minus the "-<timestamp>" job suffix
	legacyControllerUIDLabel    = "controller-uid"
	legacyJobNameLabel          = "job-name"
)

var validTimeZoneChars = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// ValidateJob validates a Job on create. Unless manualSelector is true, the
// selector and pod labels must be the generated ones (see defaults.Job),
// which needs metadata.uid to be set.
func ValidateJob(job *batchv1.Job) field.ErrorList {
	allErrs := validateGeneratedSelector(job)
	allErrs = append(allErrs, ValidateObjectMetaFor(&job.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)...)
	return append(allErrs, validateJobSpecWithSelector(&job.Spec, specPath)...)
}

// ValidateJobUpdate validates a Job update. The selector, completion mode,
// pod failure policy and (unless suspended and never started) the pod
// template are immutable; completions may only change for elastic Indexed
// Jobs, together with parallelism.
func ValidateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	allErrs := validateMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	allErrs = append(allErrs, validateJobSpecWithSelector(&job.Spec, specPath)...)
	allErrs = append(allErrs, validateCompletionsUpdate(&job.Spec, &old.Spec)...)
	immutable := []struct {
		name     string
		new, old interface{}
	}{
		{"selector", job.Spec.Selector, old.Spec.Selector},
		{"completionMode", job.Spec.CompletionMode, old.Spec.CompletionMode},
		{"podFailurePolicy", job.Spec.PodFailurePolicy, old.Spec.PodFailurePolicy},
		{"backoffLimitPerIndex", job.Spec.BackoffLimitPerIndex, old.Spec.BackoffLimitPerIndex},
		{"successPolicy", job.Spec.SuccessPolicy, old.Spec.SuccessPolicy},
		{"managedBy", job.Spec.ManagedBy, old.Spec.ManagedBy},
	}
	for _, f := range immutable {
		allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(f.new, f.old, specPath.Child(f.name))...)
	}
	mutableScheduling := deref(old.Spec.Suspend) && old.Status.StartTime == nil
	return append(allErrs, validateJobTemplateUpdate(&job.Spec.Template, &old.Spec.Template, mutableScheduling)...)
}

// validateJobTemplateUpdate keeps the pod template immutable, except that a
// suspended Job that never started may change its scheduling directives.
func validateJobTemplateUpdate(tmpl, oldTmpl *corev1.PodTemplateSpec, mutableScheduling bool) field.ErrorList {
	old := oldTmpl
	if mutableScheduling {
		old = oldTmpl.DeepCopy()
		old.Labels, old.Annotations = tmpl.Labels, tmpl.Annotations
		old.Spec.NodeSelector = tmpl.Spec.NodeSelector
		old.Spec.Tolerations = tmpl.Spec.Tolerations
		old.Spec.SchedulingGates = tmpl.Spec.SchedulingGates
		old.Spec.Affinity = mergeNodeAffinity(old.Spec.Affinity, tmpl.Spec.Affinity)
	}
	return apimachineryvalidation.ValidateImmutableField(tmpl, old, specPath.Child("template"))
}

// mergeNodeAffinity returns old affinity with node affinity taken from cur.
func mergeNodeAffinity(old, cur *corev1.Affinity) *corev1.Affinity {
	switch {
	case cur == nil && old == nil:
		return nil
	case cur == nil:
		out := old.DeepCopy()
		out.NodeAffinity = nil
		if apiequality.Semantic.DeepEqual(*out, corev1.Affinity{}) {
			return nil
		}
		return out
	case old == nil:
		return &corev1.Affinity{NodeAffinity: cur.NodeAffinity}
	default:
		out := old.DeepCopy()
		out.NodeAffinity = cur.NodeAffinity
		return out
	}
}

func validateCompletionsUpdate(spec, old *batchv1.JobSpec) field.ErrorList {
	p := specPath.Child("completions")
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if !indexed {
		return apimachineryvalidation.ValidateImmutableField(spec.Completions, old.Completions, p)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if *spec.Completions != deref(spec.Parallelism) {
		return field.ErrorList{field.Invalid(p, *spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateGeneratedSelector checks the labels and selector that defaults.Job
// generates from the Job's UID and name.
func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	if deref(job.Spec.ManualSelector) || job.Spec.Template.Labels == nil {
		return nil
	}
	var allErrs field.ErrorList
	if job.UID == "" {
		allErrs = append(allErrs, field.Required(metadataPath.Child("uid"), ""))
	}
	tmplMeta := specPath.Child("template", "metadata")
	want := map[string]string{
		legacyControllerUIDLabel:   string(job.UID),
		legacyJobNameLabel:         job.Name,
		batchv1.ControllerUidLabel: string(job.UID),
		batchv1.JobNameLabel:       job.Name,
	}
	for _, key := range []string{legacyControllerUIDLabel, legacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		allErrs = append(allErrs, validateHasLabel(job.Spec.Template.Labels, tmplMeta, key, want[key])...)
	}
	if job.Spec.Selector == nil {
		return append(allErrs, field.Required(specPath.Child("selector"), ""))
	}
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return append(allErrs, field.Invalid(specPath.Child("selector"), job.Spec.Selector, "invalid label selector"))
	}
	if !selector.Matches(labels.Set{batchv1.ControllerUidLabel: string(job.UID)}) {
		allErrs = append(allErrs, field.Invalid(specPath.Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return allErrs
}

func validateHasLabel(lbls map[string]string, fldPath *field.Path, key, want string) field.ErrorList {
	got, ok := lbls[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(fldPath.Child("labels").Key(key), fmt.Sprintf("must be '%s'", want))}
	case got != want:
		return field.ErrorList{field.Invalid(fldPath.Child("labels").Key(key), lbls, fmt.Sprintf("must be '%s'", want))}
	}
	return nil
}

// validateJobSpecWithSelector adds the selector rules to validateJobSpec.
func validateJobSpecWithSelector(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateJobSpec(spec, fldPath)
	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, validateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	return allErrs
}

// validateJobSpec checks the Job knobs and the pod template, which must
// restart OnFailure or Never.
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{
		{"parallelism", spec.Parallelism}, {"completions", spec.Completions}, {"backoffLimit", spec.BackoffLimit},
		{"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished}, {"backoffLimitPerIndex", spec.BackoffLimitPerIndex},
		{"maxFailedIndexes", spec.MaxFailedIndexes},
	} {
		if f.v != nil {
			allErrs = append(allErrs, nonNegative(int64(*f.v), fldPath.Child(f.name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, nonNegative(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	allErrs = append(allErrs, validateCompletionMode(spec, fldPath)...)
	allErrs = append(allErrs, validatePodReplacementPolicy(spec, fldPath.Child("podReplacementPolicy"))...)
	allErrs = append(allErrs, ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	return append(allErrs, validateJobRestartPolicy(spec, fldPath.Child("template", "spec", "restartPolicy"))...)
}

func validateCompletionMode(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if spec.BackoffLimitPerIndex != nil && !indexed {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
	}
	if spec.CompletionMode == nil {
		return allErrs
	}
	if m := *spec.CompletionMode; m != batchv1.NonIndexedCompletion && m != batchv1.IndexedCompletion {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("completionMode"), m, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if !indexed {
		return allErrs
	}
	if spec.Completions == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
	}
	if p := spec.Parallelism; p != nil && *p > maxParallelismForIndexedJob {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *p,
			fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
	}
	if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	return allErrs
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	p := spec.PodReplacementPolicy
	switch {
	case p == nil:
		return nil
	case spec.PodFailurePolicy != nil && *p != batchv1.Failed:
		return field.ErrorList{field.NotSupported(fldPath, *p, []batchv1.PodReplacementPolicy{batchv1.Failed})}
	case *p != batchv1.Failed && *p != batchv1.TerminatingOrFailed:
		return field.ErrorList{field.NotSupported(fldPath, *p, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed})}
	}
	return nil
}

// validateJobRestartPolicy requires OnFailure or Never; note that an unset
// policy has already been defaulted to Always.
func validateJobRestartPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyAlways || policy == "":
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case policy != corev1.RestartPolicyOnFailure && policy != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(fldPath, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

// ValidateCronJob validates a CronJob on create, including its schedule,
// time zone and the 52-character name limit.
func ValidateCronJob(cj *batchv1.CronJob) field.ErrorList {
	allErrs := ValidateObjectMetaFor(&cj.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	allErrs = append(allErrs, validateCronJobSpec(&cj.Spec, nil, specPath)...)
	if len(cj.Name) > maxCronJobNameLength {
		allErrs = append(allErrs, field.Invalid(metadataPath.Child("name"), cj.Name, fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	return allErrs
}

// ValidateCronJobUpdate validates a CronJob update. The name length limit is
// not re-checked so that old, longer-named CronJobs stay editable.
func ValidateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	allErrs := validateMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
	return append(allErrs, validateCronJobSpec(&cj.Spec, &old.Spec, specPath)...)
}

func validateCronJobSpec(spec, old *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Schedule == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("schedule"), ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		allErrs = append(allErrs, validateSchedule(spec.Schedule, allowTZ, spec.TimeZone, fldPath.Child("schedule"))...)
	}
	if spec.StartingDeadlineSeconds != nil {
		allErrs = append(allErrs, nonNegative(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || deref(old.TimeZone) != deref(spec.TimeZone) || (old.TimeZone == nil) != (spec.TimeZone == nil) {
		allErrs = append(allErrs, validateTimeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	allErrs = append(allErrs, validateConcurrencyPolicy(spec.ConcurrencyPolicy, fldPath.Child("concurrencyPolicy"))...)
	allErrs = append(allErrs, validateJobTemplate(&spec.JobTemplate, fldPath.Child("jobTemplate"))...)
	if spec.SuccessfulJobsHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return allErrs
}

func validateSchedule(schedule string, allowTZ bool, timeZone *string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if err := parseCronSchedule(schedule); err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, schedule, err.Error()))
	}
	hasTZ := strings.Contains(schedule, "TZ")
	switch {
	case allowTZ && hasTZ && timeZone != nil:
		allErrs = append(allErrs, field.Invalid(fldPath, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		allErrs = append(allErrs, field.Invalid(fldPath, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return allErrs
}

// validateTimeZone checks an IANA time zone name such as "Europe/Berlin".
func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, *tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneChars.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, *tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var allErrs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		allErrs = append(allErrs, field.Invalid(fldPath, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, *tz, err.Error()))
	}
	return allErrs
}

func validateConcurrencyPolicy(p batchv1.ConcurrencyPolicy, fldPath *field.Path) field.ErrorList {
	switch p {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, p, []batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent})}
	}
}

// validateJobTemplate checks a CronJob's job template; its selector is
// always generated, so it may not be set.
func validateJobTemplate(tmpl *batchv1.JobTemplateSpec, fldPath *field.Path) field.ErrorList {
	specP := fldPath.Child("spec")
	allErrs := validateJobSpec(&tmpl.Spec, specP)
	if tmpl.Spec.Selector != nil {
		allErrs = append(allErrs, field.Invalid(specP.Child("selector"), tmpl.Spec.Selector, "`selector` will be auto-generated"))
	}
	if deref(tmpl.Spec.ManualSelector) {
		allErrs = append(allErrs, field.NotSupported(specP.Child("manualSelector"), true, []string{"nil", "false"}))
	}
	return allErrs
}
