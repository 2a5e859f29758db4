package manager

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDropManagedFields(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}}}}
	for range 2 { // the informer may transform an object it already holds
		obj, err := dropManagedFields(pod)
		if err != nil || obj != pod {
			t.Fatalf("dropManagedFields = %v, %v; want the same object", obj, err)
		}
		if pod.ManagedFields != nil || pod.Labels["a"] != "b" {
			t.Fatalf("after transform: managedFields %v, labels %v; want none and the labels kept", pod.ManagedFields, pod.Labels)
		}
	}
}
