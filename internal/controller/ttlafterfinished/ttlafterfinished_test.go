package ttlafterfinished_test

import (
	"context"
	"fmt"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

var ctx = context.Background()

func job(ns, name string, ttl *int32) *batchv1.Job {
	tmpl := controllertest.PodTemplate(name, "busybox:1.36")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ttl, Template: tmpl},
	}
}

// TestDeletesFinishedJobs runs Jobs to completion under the job
// controller: those with a TTL are deleted with their pods, the one
// without stays.
func TestDeletesFinishedJobs(t *testing.T) {
	e := controllertest.Start(t, manager.Options{Controllers: []string{"job", "ttlafterfinished", "garbagecollector"}})
	nodes := nodesim.Start(t, e.Client, nodesim.Options{Bind: true})
	ns := e.Namespace("ttl")
	for _, j := range []*batchv1.Job{job(ns, "zero", ptr.To(int32(0))), job(ns, "one", ptr.To(int32(1))), job(ns, "keep", nil)} {
		if _, err := e.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	finished := map[string]bool{}
	controllertest.Eventually(t, "every pod finished", func() (bool, error) {
		list, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && !finished[p.Name] {
				nodes.Finish(ns, p.Name, corev1.PodSucceeded)
				finished[p.Name] = true
			}
		}
		return len(finished) == 3, fmt.Errorf("%d finished", len(finished))
	})
	for _, name := range []string{"zero", "one"} {
		controllertest.Eventually(t, "job "+name+" deleted", func() (bool, error) {
			_, err := e.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	}
	controllertest.Eventually(t, "their pods deleted", func() (bool, error) {
		list, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 1, fmt.Errorf("%d pods, err %v", len(list.Items), err)
	})
	got, err := e.Client.BatchV1().Jobs(ns).Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("job without TTL: %v", err)
	}
	if got.Status.Succeeded != 1 {
		t.Errorf("kept job succeeded = %d, want 1", got.Status.Succeeded)
	}
}
