package core

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var (
	rcSpecDocs   = corev1.ReplicationControllerSpec{}.SwaggerDoc()
	rcStatusDocs = corev1.ReplicationControllerStatus{}.SwaggerDoc()
)

var replicationControllerTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Desired", Type: "integer", Description: rcSpecDocs["replicas"]},
	{Name: "Current", Type: "integer", Description: rcStatusDocs["replicas"]},
	{Name: "Ready", Type: "integer", Description: rcStatusDocs["readyReplicas"]},
	registry.AgeColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
	{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
	{Name: "Selector", Type: "string", Priority: 1, Description: rcSpecDocs["selector"]},
}, func(rc *corev1.ReplicationController, now time.Time) []interface{} {
	desired := int64(1)
	if rc.Spec.Replicas != nil {
		desired = int64(*rc.Spec.Replicas)
	}
	var names, images string
	if rc.Spec.Template != nil {
		names, images = registry.ContainerCells(rc.Spec.Template.Spec.Containers)
	}
	return []interface{}{desired, int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		registry.Age(rc.CreationTimestamp, now), names, images, labels.FormatLabels(rc.Spec.Selector)}
})
