package scheduling

import (
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var priorityClassDocs = schedulingv1.PriorityClass{}.SwaggerDoc()

// priorityClassTable ends with PREEMPTIONPOLICY, which upstream prints even
// without -o wide.
var priorityClassTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Value", Type: "integer", Description: priorityClassDocs["value"]},
	{Name: "Global-Default", Type: "boolean", Description: priorityClassDocs["globalDefault"]},
	registry.AgeColumn,
	{Name: "PreemptionPolicy", Type: "string", Description: priorityClassDocs["preemptionPolicy"]},
}, func(pc *schedulingv1.PriorityClass, now time.Time) []interface{} {
	policy := ""
	if pc.PreemptionPolicy != nil {
		policy = string(*pc.PreemptionPolicy)
	}
	return []interface{}{int64(pc.Value), pc.GlobalDefault, registry.Age(pc.CreationTimestamp, now), policy}
})
