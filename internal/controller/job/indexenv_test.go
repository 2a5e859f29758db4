package job_test

import (
	"fmt"
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
)

// TestIndexedPodEnvAndHostname checks what an Indexed Job's pods get:
// JOB_COMPLETION_INDEX from the completion-index annotation in every
// container and init container (a container's own value kept), and the
// hostname <job>-<index> next to the Job's subdomain.
func TestIndexedPodEnvAndHostname(t *testing.T) {
	e := start(t)
	j := newJob(e.ns, "work", 2, 2)
	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	j.Spec.Template.Spec.Subdomain = "work-svc"
	j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36"}}
	j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{
		Name: "own", Image: "busybox:1.36", Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}},
	})
	job := e.create(t, j)
	wantRef := "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	controllertest.Eventually(t, "two indexed pods", func() (bool, error) {
		var idx []string
		for _, p := range podsOf(t, e.Client, job) {
			i := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			if p.Spec.Hostname != "work-"+i || p.Spec.Subdomain != "work-svc" {
				return false, fmt.Errorf("pod %s: hostname %q subdomain %q", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
			}
			for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
				var found []corev1.EnvVar
				for _, v := range c.Env {
					if v.Name == "JOB_COMPLETION_INDEX" {
						found = append(found, v)
					}
				}
				ok := len(found) == 1
				if ok && c.Name == "own" {
					ok = found[0].Value == "mine"
				} else if ok {
					ok = found[0].ValueFrom != nil && found[0].ValueFrom.FieldRef != nil && found[0].ValueFrom.FieldRef.FieldPath == wantRef
				}
				if !ok {
					return false, fmt.Errorf("pod %s container %s: JOB_COMPLETION_INDEX %+v", p.Name, c.Name, found)
				}
			}
			idx = append(idx, i)
		}
		slices.Sort(idx)
		return slices.Equal(idx, []string{"0", "1"}), fmt.Errorf("indexes %v", idx)
	})
}
