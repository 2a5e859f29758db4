package validation

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestZZDebug(t *testing.T) {
	for _, e := range ValidatePod(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{}}}}) {
		fmt.Println(e)
	}
	fmt.Println("---")
	for _, e := range ValidateDeployment(&appsv1.Deployment{}) {
		fmt.Println(e)
	}
	fmt.Println("---")
	for _, e := range ValidateService(&corev1.Service{}) {
		fmt.Println(e)
	}
}
