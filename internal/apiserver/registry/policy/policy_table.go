package policy

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var pdbTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
	{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
	{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
	registry.AgeColumn,
}, func(p *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
	return []interface{}{intOrNA(p.Spec.MinAvailable), intOrNA(p.Spec.MaxUnavailable),
		int64(p.Status.DisruptionsAllowed), registry.Age(p.CreationTimestamp, now)}
})

// intOrNA prints a count or percentage, or N/A when unset.
func intOrNA(v *intstr.IntOrString) string {
	if v == nil {
		return "N/A"
	}
	return v.String()
}
