package nodeapi

import (
	"testing"
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestRuntimeClassTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	registrytest.RunCases(t, now, []registrytest.Case{{
		Name: "runc", Res: Resources()[0], WantColumns: []string{"NAME", "HANDLER", "AGE"},
		Obj:       &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "runc", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))}, Handler: "runc"},
		WantCells: []interface{}{"runc", "runc", "60s"},
	}})
}
