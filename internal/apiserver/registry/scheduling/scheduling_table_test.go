package scheduling

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestPriorityClassTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cols := []string{"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"}
	m := metav1.ObjectMeta{Name: "system-cluster-critical", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))}
	policy := corev1.PreemptLowerPriority
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "with a preemption policy", Res: Resources()[0], WantColumns: cols,
			Obj:       &schedulingv1.PriorityClass{ObjectMeta: m, Value: 2000000000, PreemptionPolicy: &policy},
			WantCells: []interface{}{"system-cluster-critical", int64(2000000000), false, "5m", "PreemptLowerPriority"},
		},
		{
			Name: "global default without a policy", Res: Resources()[0], WantColumns: cols,
			Obj:       &schedulingv1.PriorityClass{ObjectMeta: m, Value: -5, GlobalDefault: true},
			WantCells: []interface{}{"system-cluster-critical", int64(-5), true, "5m", ""},
		},
	})
}
