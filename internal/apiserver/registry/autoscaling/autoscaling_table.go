package autoscaling

import (
	"fmt"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// metricsShown is how many metrics the TARGETS cell lists before "+ N more...".
const metricsShown = 2

var (
	hpaSpecDocs   = autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	hpaStatusDocs = autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()
)

// hpaTable serves autoscaling/v1 and v2 alike: both store v2 objects.
var hpaTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Reference", Type: "string", Description: hpaSpecDocs["scaleTargetRef"]},
	{Name: "Targets", Type: "string", Description: hpaSpecDocs["metrics"]},
	{Name: "MinPods", Type: "string", Description: hpaSpecDocs["minReplicas"]},
	{Name: "MaxPods", Type: "string", Description: hpaSpecDocs["maxReplicas"]},
	{Name: "Replicas", Type: "string", Description: hpaStatusDocs["currentReplicas"]},
	registry.AgeColumn,
}, func(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprint(*h.Spec.MinReplicas)
	}
	return []interface{}{
		h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods, int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas),
		registry.Age(h.CreationTimestamp, now),
	}
})

// hpaTargets is the TARGETS cell: "current/target" per metric (resource
// metrics prefixed with the resource name, "<unknown>" until measured), the
// first two, then "+ N more...".
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	out := make([]string, 0, len(specs))
	for i, spec := range specs {
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		out = append(out, metricTarget(spec, status))
	}
	if len(out) <= metricsShown {
		return strings.Join(out, ", ")
	}
	return fmt.Sprintf("%s + %d more...", strings.Join(out[:metricsShown], ", "), len(out)-metricsShown)
}

// metricTarget formats one metric; status is the matching current metric,
// or nil.
func metricTarget(spec autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	current := "<unknown>"
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		t := spec.External.Target
		if t.AverageValue != nil {
			if status != nil && status.External != nil && status.External.Current.AverageValue != nil {
				current = status.External.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, t.AverageValue.String())
		}
		if status != nil && status.External != nil {
			current = status.External.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, t.Value.String())
	case autoscalingv2.PodsMetricSourceType:
		if status != nil && status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case autoscalingv2.ObjectMetricSourceType:
		t := spec.Object.Target
		if t.AverageValue != nil {
			if status != nil && status.Object != nil && status.Object.Current.AverageValue != nil {
				current = status.Object.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, t.AverageValue.String())
		}
		if status != nil && status.Object != nil {
			current = status.Object.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, t.Value.String())
	case autoscalingv2.ResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.Resource != nil {
			cur = &status.Resource.Current
		}
		return spec.Resource.Name.String() + ": " + resourceTarget(spec.Resource.Target, cur)
	case autoscalingv2.ContainerResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.ContainerResource != nil {
			cur = &status.ContainerResource.Current
		}
		return spec.ContainerResource.Name.String() + ": " + resourceTarget(spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

// resourceTarget formats a cpu/memory target: an average value, or an
// average utilization in percent ("<auto>" when unset).
func resourceTarget(t autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if t.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return current + "/" + t.AverageValue.String()
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	target := "<auto>"
	if t.AverageUtilization != nil {
		target = fmt.Sprintf("%d%%", *t.AverageUtilization)
	}
	return current + "/" + target
}
