package coordination

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestLeaseTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := metav1.ObjectMeta{Name: "kube-scheduler", Namespace: "kube-system", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}
	holder := "server-1_7f3a"
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "held", Res: Resources()[0], WantColumns: []string{"NAME", "HOLDER", "AGE"},
			Obj:       &coordinationv1.Lease{ObjectMeta: m, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}},
			WantCells: []interface{}{"kube-scheduler", "server-1_7f3a", "60m"},
		},
		{
			Name: "free", Res: Resources()[0], WantColumns: []string{"NAME", "HOLDER", "AGE"},
			Obj:       &coordinationv1.Lease{ObjectMeta: m},
			WantCells: []interface{}{"kube-scheduler", "", "60m"},
		},
	})
}
