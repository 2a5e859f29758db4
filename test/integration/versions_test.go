package integration

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestHPAServedAsV1AndV2(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	v1 := s.Client.AutoscalingV1().HorizontalPodAutoscalers("default")
	v2 := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default")

	_, err := v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "from-v1"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    4, TargetCPUUtilizationPercentage: ptr.To[int32](60),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Get(ctx, "from-v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Metrics) != 1 || *got.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
		t.Fatalf("v2 view of a v1 object: %+v", got.Spec.Metrics)
	}

	mem := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("64Mi"))}}}
	if _, err := v2.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "from-v2"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    3, Metrics: []autoscalingv2.MetricSpec{mem},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A v1 client changes maxReplicas; the memory metric it cannot see survives.
	if _, err := v1.Patch(ctx, "from-v2", types.MergePatchType, []byte(`{"spec":{"maxReplicas":9}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	after, err := v2.Get(ctx, "from-v2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Spec.MaxReplicas != 9 || len(after.Spec.Metrics) != 1 || after.Spec.Metrics[0].Resource.Name != corev1.ResourceMemory {
		t.Fatalf("after v1 patch: max=%d metrics=%+v", after.Spec.MaxReplicas, after.Spec.Metrics)
	}
	if len(after.Annotations) != 0 {
		t.Errorf("conversion annotations leaked into storage: %v", after.Annotations)
	}
	list, err := v1.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("v1 list: %v %v", list, err)
	}
}
