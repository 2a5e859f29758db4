package autoscaling

import (
	"encoding/json"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Annotations under which autoscaling/v1 carries what it has no fields for,
// so that a v1 round trip loses nothing.
const (
	metricsAnnotation    = "autoscaling.alpha.kubernetes.io/metrics"
	conditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"
	currentAnnotation    = "autoscaling.alpha.kubernetes.io/current-metrics"
	behaviorAnnotation   = "autoscaling.alpha.kubernetes.io/behavior"
)

// isCPUUtilization reports whether m is the one metric v1 expresses natively.
func isCPUUtilization(m autoscalingv2.MetricSpec) bool {
	return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
		m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType &&
		m.Resource.Target.AverageUtilization != nil
}

// v2ToV1 converts a stored HPA to autoscaling/v1.
func v2ToV1(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error) {
	out := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.Spec = autoscalingv1.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
		MinReplicas:    in.Spec.MinReplicas,
		MaxReplicas:    in.Spec.MaxReplicas,
	}
	var other []autoscalingv2.MetricSpec
	for _, m := range in.Spec.Metrics {
		if isCPUUtilization(m) && out.Spec.TargetCPUUtilizationPercentage == nil {
			out.Spec.TargetCPUUtilizationPercentage = m.Resource.Target.AverageUtilization
			continue
		}
		other = append(other, m)
	}
	out.Status = autoscalingv1.HorizontalPodAutoscalerStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		LastScaleTime:      in.Status.LastScaleTime,
		CurrentReplicas:    in.Status.CurrentReplicas,
		DesiredReplicas:    in.Status.DesiredReplicas,
	}
	for _, m := range in.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU {
			out.Status.CurrentCPUUtilizationPercentage = m.Resource.Current.AverageUtilization
		}
	}
	for key, v := range map[string]interface{}{
		metricsAnnotation: other, conditionsAnnotation: in.Status.Conditions,
		currentAnnotation: in.Status.CurrentMetrics, behaviorAnnotation: in.Spec.Behavior,
	} {
		if err := setJSONAnnotation(&out.ObjectMeta.Annotations, key, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// v1ToV2 converts an autoscaling/v1 HPA to the stored version.
func v1ToV2(in *autoscalingv1.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	out := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.Spec = autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
		MinReplicas:    in.Spec.MinReplicas,
		MaxReplicas:    in.Spec.MaxReplicas,
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		out.Spec.Metrics = append(out.Spec.Metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: p}},
		})
	}
	out.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		LastScaleTime:      in.Status.LastScaleTime,
		CurrentReplicas:    in.Status.CurrentReplicas,
		DesiredReplicas:    in.Status.DesiredReplicas,
	}
	var other []autoscalingv2.MetricSpec
	fields := []struct {
		key  string
		into interface{}
	}{
		{metricsAnnotation, &other}, {conditionsAnnotation, &out.Status.Conditions},
		{currentAnnotation, &out.Status.CurrentMetrics}, {behaviorAnnotation, &out.Spec.Behavior},
	}
	for _, f := range fields {
		if err := takeJSONAnnotation(out.ObjectMeta.Annotations, f.key, f.into); err != nil {
			return nil, err
		}
	}
	out.Spec.Metrics = append(out.Spec.Metrics, other...)
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	return out, nil
}

func setJSONAnnotation(ann *map[string]string, key string, v interface{}) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if string(data) == "null" || string(data) == "[]" {
		return nil
	}
	if *ann == nil {
		*ann = map[string]string{}
	}
	(*ann)[key] = string(data)
	return nil
}

func takeJSONAnnotation(ann map[string]string, key string, into interface{}) error {
	v, ok := ann[key]
	if !ok {
		return nil
	}
	delete(ann, key)
	if err := json.Unmarshal([]byte(v), into); err != nil {
		return fmt.Errorf("annotation %s: %w", key, err)
	}
	return nil
}
