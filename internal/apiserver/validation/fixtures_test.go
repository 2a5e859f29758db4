package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
)

// Fixtures below are typical user manifests, already defaulted the way the
// registry does before validating.

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

func nginxContainer() corev1.Container {
	return corev1.Container{
		Name:  "nginx",
		Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{ContainerPort: 80}},
	}
}

func nginxTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{nginxContainer()}},
	}
}

func testPod(mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: meta("nginx"), Spec: corev1.PodSpec{Containers: []corev1.Container{nginxContainer()}}}
	for _, m := range mut {
		m(p)
	}
	defaults.Pod(p)
	return p
}

func testDeployment(mut ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: meta("nginx"),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: nginxTemplate(),
		},
	}
	for _, m := range mut {
		m(d)
	}
	defaults.Deployment(d)
	return d
}

func testStatefulSet(mut ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	tmpl := nginxTemplate()
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}}
	s := &appsv1.StatefulSet{
		ObjectMeta: meta("web"),
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template:    tmpl,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	for _, m := range mut {
		m(s)
	}
	defaults.StatefulSet(s)
	return s
}

func testDaemonSet(mut ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{
		ObjectMeta: meta("fluentd"),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: nginxTemplate(),
		},
	}
	d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	for _, m := range mut {
		m(d)
	}
	defaults.DaemonSet(d)
	return d
}

func piTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name: "pi", Image: "perl:5.34.0", Command: []string{"perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"},
		}},
	}}
}

func testJob(mut ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: meta("pi"), Spec: batchv1.JobSpec{Template: piTemplate()}}
	j.UID = "3f6c1b5e-2f1d-4c1e-9a55-8f1f5b0c1d2e"
	for _, m := range mut {
		m(j)
	}
	defaults.Job(j)
	return j
}

func testCronJob(mut ...func(*batchv1.CronJob)) *batchv1.CronJob {
	c := &batchv1.CronJob{
		ObjectMeta: meta("hello"),
		Spec: batchv1.CronJobSpec{
			Schedule:    "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: piTemplate()}},
		},
	}
	for _, m := range mut {
		m(c)
	}
	defaults.CronJob(c)
	return c
}

func testService(mut ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: meta("nginx"),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "nginx"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	for _, m := range mut {
		m(s)
	}
	defaults.Service(s)
	return s
}

// errorStrings renders an ErrorList the way kubectl shows each cause.
func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// checkErrors compares errors to want exactly; a want entry ending in "…"
// only has to be a prefix.
func checkErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := errorStrings(errs)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n got: %q\nwant: %q", len(got), len(want), got, want)
	}
	for i := range want {
		if prefix, ok := strings.CutSuffix(want[i], "…"); ok {
			if !strings.HasPrefix(got[i], prefix) {
				t.Errorf("error %d:\n got: %s\nwant prefix: %s", i, got[i], prefix)
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("error %d:\n got: %s\nwant: %s", i, got[i], want[i])
		}
	}
}
