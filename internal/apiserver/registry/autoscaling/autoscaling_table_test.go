package autoscaling

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestHPATable(t *testing.T) {
	cols := []string{"NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"}
	two, fifty, sixty := int32(2), int32(50), int32(60)
	q := resource.MustParse
	qp := func(s string) *resource.Quantity { v := q(s); return &v }
	hpa := func(metrics []autoscalingv2.MetricSpec, current []autoscalingv2.MetricStatus, min *int32) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-7 * time.Minute))},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
				MinReplicas:    min, MaxReplicas: 10, Metrics: metrics,
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: current},
		}
	}
	cpu := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty}}}
	mem := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("512Mi")}}}
	pods := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("1k")}}}
	ext := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qp("30")}}}
	sidecar := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &sixty}}}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "no metrics, min unset", Res: Resources()[0], WantColumns: cols,
			Obj:       hpa(nil, nil, nil),
			WantCells: []interface{}{"web", "Deployment/web", "<none>", "<unset>", int64(10), int64(3), "7m"},
		},
		{
			Name: "cpu utilization before it is measured", Res: Resources()[0], WantColumns: cols,
			Obj:       hpa([]autoscalingv2.MetricSpec{cpu}, nil, &two),
			WantCells: []interface{}{"web", "Deployment/web", "cpu: <unknown>/50%", "2", int64(10), int64(3), "7m"},
		},
		{
			Name: "two measured metrics", Res: Resources()[0], WantColumns: cols,
			Obj: hpa([]autoscalingv2.MetricSpec{cpu, mem}, []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: &sixty, AverageValue: qp("120m")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
					Current: autoscalingv2.MetricValueStatus{AverageValue: qp("300Mi")}}},
			}, &two),
			WantCells: []interface{}{"web", "Deployment/web", "cpu: 60%/50%, memory: 300Mi/512Mi", "2", int64(10), int64(3), "7m"},
		},
		{
			Name: "more than two metrics are cut", Res: Resources()[0], WantColumns: cols,
			Obj:       hpa([]autoscalingv2.MetricSpec{pods, ext, sidecar, cpu}, nil, &two),
			WantCells: []interface{}{"web", "Deployment/web", "<unknown>/1k, <unknown>/30 + 2 more...", "2", int64(10), int64(3), "7m"},
		},
		{
			Name: "container resource; autoscaling/v1 prints the same", Res: Resources()[1], WantColumns: cols,
			Obj:       hpa([]autoscalingv2.MetricSpec{sidecar}, nil, &two),
			WantCells: []interface{}{"web", "Deployment/web", "cpu: <unknown>/60%", "2", int64(10), int64(3), "7m"},
		},
	})
}
