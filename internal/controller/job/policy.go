package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyAction returns the action of the first podFailurePolicy rule a
// Failed pod matches, with upstream's message; nil when none matches (the
// failure counts, as with no policy).
func policyAction(job *batchv1.Job, p *corev1.Pod) (*batchv1.PodFailurePolicyAction, string) {
	if job.Spec.PodFailurePolicy == nil || p.Status.Phase != corev1.PodFailed {
		return nil, ""
	}
	for i, rule := range job.Spec.PodFailurePolicy.Rules {
		if rule.OnExitCodes != nil {
			if name, code, ok := matchExitCodes(rule.OnExitCodes, p); ok {
				return &rule.Action, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
					name, p.Namespace, p.Name, code, rule.Action, i)
			}
			continue
		}
		for _, pc := range rule.OnPodConditions {
			for _, c := range p.Status.Conditions {
				if c.Type == pc.Type && c.Status == pc.Status {
					return &rule.Action, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
						p.Namespace, p.Name, c.Type, rule.Action, i)
				}
			}
		}
	}
	return nil, ""
}

// matchExitCodes returns the first terminated container whose non-zero
// exit code satisfies r.
func matchExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, p *corev1.Pod) (string, int32, bool) {
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, s := range statuses {
		if r.ContainerName != nil && *r.ContainerName != s.Name {
			continue
		}
		t := s.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		in := slices.Contains(r.Values, t.ExitCode)
		if (r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
			return s.Name, t.ExitCode, true
		}
	}
	return "", 0, false
}

// podFailurePolicyVerdict returns the reason and message of a FailJob
// rule matched by a failed pod of the Job.
func (c *Controller) podFailurePolicyVerdict(job *batchv1.Job, pods []*corev1.Pod) (string, string, bool) {
	for _, p := range pods {
		if a, msg := policyAction(job, p); a != nil && *a == batchv1.PodFailurePolicyActionFailJob {
			return batchv1.JobReasonPodFailurePolicy, msg, true
		}
	}
	return "", "", false
}

// ignoredFailure reports whether a failed pod matches an Ignore rule: it
// is not counted against backoffLimit.
func ignoredFailure(job *batchv1.Job, p *corev1.Pod) bool {
	a, _ := policyAction(job, p)
	return a != nil && *a == batchv1.PodFailurePolicyActionIgnore
}
