package deployment_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
)

var ctx = context.Background()

// rolloutStatus is `kubectl rollout status`'s verdict on a Deployment
// (k8s.io/kubectl's DeploymentStatusViewer, v1.32): done, or an error once
// the progress deadline was exceeded.
func rolloutStatus(d *appsv1.Deployment) (string, bool, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return "Waiting for deployment spec update to be observed...", false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
		}
	}
	switch {
	case d.Spec.Replicas != nil && d.Status.UpdatedReplicas < *d.Spec.Replicas:
		return fmt.Sprintf("%d out of %d new replicas have been updated", d.Status.UpdatedReplicas, *d.Spec.Replicas), false, nil
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas are pending termination", d.Status.Replicas-d.Status.UpdatedReplicas), false, nil
	case d.Status.AvailableReplicas < d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d of %d updated replicas are available", d.Status.AvailableReplicas, d.Status.UpdatedReplicas), false, nil
	}
	return "successfully rolled out", true, nil
}

// waitRolledOut waits until `kubectl rollout status` would finish.
func waitRolledOut(t *testing.T, c kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	var msg string
	controllertest.Eventually(t, "deployment "+name+" rolled out", func() (bool, error) {
		var err error
		if d, err = c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		var done bool
		msg, done, err = rolloutStatus(d)
		if err != nil {
			t.Fatalf("rollout of %s failed: %v", name, err)
		}
		if !done {
			return false, fmt.Errorf("%s", msg)
		}
		return true, nil
	})
	return d
}

// replicaSets lists the ReplicaSets controlled by the Deployment, oldest
// revision first.
func replicaSets(t *testing.T, c kubernetes.Interface, d *appsv1.Deployment) []appsv1.ReplicaSet {
	t.Helper()
	list, err := c.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if metav1.IsControlledBy(&rs, d) {
			out = append(out, rs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return revision(&out[i]) < revision(&out[j]) })
	return out
}

// revision reads the revision annotation of a ReplicaSet.
func revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
	return n
}

// replicaSetFor returns the ReplicaSet running image.
func replicaSetFor(t *testing.T, c kubernetes.Interface, d *appsv1.Deployment, image string) *appsv1.ReplicaSet {
	t.Helper()
	for _, rs := range replicaSets(t, c, d) {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return &rs
		}
	}
	t.Fatalf("no replica set of %s runs %s", d.Name, image)
	return nil
}

func setImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, image)
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func patchDeployment(t *testing.T, c kubernetes.Interface, ns, name, patch string) {
	t.Helper()
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func condition(d *appsv1.Deployment, ct appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == ct {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// images returns the image of every active pod in ns, sorted.
func images(t *testing.T, c kubernetes.Interface, ns string) []string {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return out
}

func repeat(s string, n int) []string {
	return strings.Split(strings.TrimSuffix(strings.Repeat(s+",", n), ","), ",")
}
