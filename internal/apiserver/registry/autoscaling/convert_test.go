package autoscaling

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestHPAConversionRoundTrips(t *testing.T) {
	cpu := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}
	mem := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100Mi"))}}}
	for _, tc := range []struct {
		name    string
		in      *autoscalingv2.HorizontalPodAutoscaler
		wantCPU *int32
	}{
		{"cpu only", hpa(cpu), ptr.To[int32](70)},
		{"cpu and memory", hpa(cpu, mem), ptr.To[int32](70)},
		{"memory only", hpa(mem), nil},
		{"no metrics", hpa(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1, err := v2ToV1(tc.in.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(v1.Spec.TargetCPUUtilizationPercentage, tc.wantCPU) {
				t.Errorf("targetCPUUtilizationPercentage = %v, want %v", v1.Spec.TargetCPUUtilizationPercentage, tc.wantCPU)
			}
			back, err := v1ToV2(v1)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(back, tc.in) {
				t.Errorf("round trip changed the object:\n got %+v\nwant %+v", back, tc.in)
			}
		})
	}
	t.Run("v1 object created by a v1 client", func(t *testing.T) {
		in := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "h"},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr.To[int32](50)}}
		v2, err := v1ToV2(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(v2.Spec.Metrics) != 1 || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 {
			t.Fatalf("metrics = %+v", v2.Spec.Metrics)
		}
	})
}

func hpa(metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10, Metrics: metrics,
		},
	}
}
