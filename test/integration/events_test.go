package integration

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestEventsServedByBothAPIsAndExpire(t *testing.T) {
	s := testserver.Start(t, func(o *server.Options) { o.EventTTL = 2 * time.Second })
	ctx := ctxFor(t)
	core := s.Client.CoreV1().Events("default")
	newAPI := s.Client.EventsV1().Events("default")

	_, err := core.Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pod-a.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-a", UID: "u1"},
		Reason:         "Scheduled", Message: "Successfully assigned default/pod-a to n1", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "default-scheduler"}, Count: 1,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := newAPI.Get(ctx, "pod-a.1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Regarding.Name != "pod-a" || got.Note != "Successfully assigned default/pod-a to n1" || got.DeprecatedSource.Component != "default-scheduler" {
		t.Fatalf("events.k8s.io view: %+v", got)
	}
	_, err = newAPI.Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-a.2"}, EventTime: metav1.NowMicro(),
		ReportingController: "skiff.dev/test", ReportingInstance: "t1", Action: "Binding",
		Reason: "FailedScheduling", Note: "0/1 nodes are available", Type: corev1.EventTypeWarning,
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-a"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := core.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=pod-a,reason=FailedScheduling"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Message != "0/1 nodes are available" {
		t.Fatalf("core view by field selector: %v %v", list, err)
	}
	waitFor(t, func() bool {
		_, err := core.Get(ctx, "pod-a.1", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
