package core

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// podTemplateTable prints the template's containers and pod labels; like
// upstream it has no AGE column.
var podTemplateTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Containers", Type: "string", Description: "Names of each container in the template."},
	{Name: "Images", Type: "string", Description: "Images referenced by each container in the template."},
	{Name: "Pod Labels", Type: "string", Description: "The labels for the pod template."},
}, func(t *corev1.PodTemplate, _ time.Time) []interface{} {
	names, images := registry.ContainerCells(t.Template.Spec.Containers)
	return []interface{}{names, images, labels.FormatLabels(t.Template.Labels)}
})
