package policy

import (
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestPDBTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cols := []string{"NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"}
	m := metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))}
	two, pct := intstr.FromInt32(2), intstr.FromString("25%")
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "min available", Res: Resources()[0], WantColumns: cols,
			Obj:       &policyv1.PodDisruptionBudget{ObjectMeta: m, Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			WantCells: []interface{}{"web", "2", "N/A", int64(1), "60s"},
		},
		{
			Name: "max unavailable percentage", Res: Resources()[0], WantColumns: cols,
			Obj:       &policyv1.PodDisruptionBudget{ObjectMeta: m, Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &pct}},
			WantCells: []interface{}{"web", "N/A", "25%", int64(0), "60s"},
		},
	})
}
