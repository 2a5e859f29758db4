package framework

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// PatchPodStatus sets a condition (merged by type) and, when nominated is
// not nil, status.nominatedNodeName ("" clears it) with a strategic merge
// patch of pods/status, guarded by the pod's UID.
func PatchPodStatus(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, cond *corev1.PodCondition, nominated *string) error {
	status := map[string]any{}
	if cond != nil {
		status["conditions"] = []corev1.PodCondition{*cond}
	}
	if nominated != nil {
		if *nominated == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = *nominated
		}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// PodCondition returns the pod's condition of type t, or nil.
func PodCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}
