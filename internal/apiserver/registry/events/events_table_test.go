package events

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

// TestEventTable: events.k8s.io/v1 prints the same columns as core/v1,
// from the stored core/v1 event.
func TestEventTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	stored := ToCore(FromCore(&corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
		Reason:         "ScalingReplicaSet", Type: corev1.EventTypeNormal, Message: "Scaled up replica set web-5d9c to 3",
		EventTime:           metav1.NewMicroTime(now.Add(-40 * time.Second)),
		ReportingController: "deployment-controller", ReportingInstance: "server-1",
	}))
	registrytest.RunCases(t, now, []registrytest.Case{{
		Name: "new-style event", Res: Resources(time.Hour)[0],
		WantColumns: []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
		WantWide:    []string{"SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"},
		Obj:         stored,
		WantCells: []interface{}{"40s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller, server-1",
			"Scaled up replica set web-5d9c to 3", "40s", int64(1), "web.1"},
	}})
}
