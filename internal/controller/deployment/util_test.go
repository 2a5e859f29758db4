package deployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func deploymentWith(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: &replicas,
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
	}}
}

func TestFenceposts(t *testing.T) {
	tests := []struct {
		name                       string
		replicas                   int32
		surge, unavailable         intstr.IntOrString
		wantSurge, wantUnavailable int32
	}{
		{name: "ints", replicas: 10, surge: intstr.FromInt32(3), unavailable: intstr.FromInt32(2), wantSurge: 3, wantUnavailable: 2},
		{name: "percents round surge up and unavailable down", replicas: 10, surge: intstr.FromString("25%"), unavailable: intstr.FromString("25%"), wantSurge: 3, wantUnavailable: 2},
		{name: "both round to zero: one unavailable", replicas: 1, surge: intstr.FromString("0%"), unavailable: intstr.FromString("25%"), wantSurge: 0, wantUnavailable: 1},
		{name: "unavailable capped at replicas", replicas: 2, surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(5), wantSurge: 0, wantUnavailable: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := deploymentWith(tc.replicas, tc.surge, tc.unavailable)
			if s, u := maxSurge(d), maxUnavailable(d); s != tc.wantSurge || u != tc.wantUnavailable {
				t.Fatalf("surge %d unavailable %d, want %d %d", s, u, tc.wantSurge, tc.wantUnavailable)
			}
		})
	}
}

func TestTemplateHash(t *testing.T) {
	a := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}}}}
	b := *a.DeepCopy()
	b.Spec.Containers[0].Image = "nginx:1.28"
	one := int32(1)
	hashes := map[string]bool{templateHash(&a, nil): true, templateHash(&b, nil): true, templateHash(&a, &one): true}
	if len(hashes) != 3 {
		t.Fatalf("template, image change and collision count must hash differently: %v", hashes)
	}
	if templateHash(&a, nil) != templateHash(a.DeepCopy(), nil) {
		t.Fatal("hash is not stable")
	}
	for h := range hashes {
		if strings.ContainsAny(h, "aeiou") {
			t.Fatalf("hash %q has vowels", h)
		}
	}
	withHash := *a.DeepCopy()
	withHash.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "abc"
	if !equalIgnoreHash(&a, &withHash) || equalIgnoreHash(&a, &b) {
		t.Fatal("equalIgnoreHash must ignore only the hash label")
	}
}

func TestAppendHistory(t *testing.T) {
	if got := appendHistory("", "1"); got != "1" {
		t.Fatalf("got %q", got)
	}
	if got := appendHistory("1,2", "4"); got != "1,2,4" {
		t.Fatalf("got %q", got)
	}
	long := strings.Repeat("123456789,", 250)
	got := appendHistory(strings.TrimSuffix(long, ","), "7")
	if len(got) > maxRevisionHistoryChars || !strings.HasSuffix(got, ",7") {
		t.Fatalf("history of %d chars ending %q", len(got), got[len(got)-4:])
	}
}
