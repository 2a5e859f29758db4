package core

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var eventDocs = corev1.Event{}.SwaggerDoc()

// EventTable is the table of events, served by core/v1 and events.k8s.io/v1
// alike (both read the same stored core/v1 events). NAME comes last, as a
// wide column.
var EventTable = &registry.TableDef{
	OmitName: true,
	Columns: []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: eventDocs["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: eventDocs["type"]},
		{Name: "Reason", Type: "string", Description: eventDocs["reason"]},
		{Name: "Object", Type: "string", Description: eventDocs["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: eventDocs["source"]},
		{Name: "Message", Type: "string", Description: eventDocs["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: eventDocs["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: eventDocs["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	},
	Cells: func(obj runtime.Object, now time.Time) []interface{} {
		e := obj.(*corev1.Event)
		// core/v1 writers set first/lastTimestamp; events.k8s.io writers
		// set eventTime and, for repeats, a series.
		first := registry.Age(e.FirstTimestamp, now)
		if e.FirstTimestamp.IsZero() {
			first = registry.MicroAge(e.EventTime, now)
		}
		last := registry.Age(e.LastTimestamp, now)
		if e.LastTimestamp.IsZero() {
			last = first
		}
		count := e.Count
		if e.Series != nil {
			last, count = registry.MicroAge(e.Series.LastObservedTime, now), e.Series.Count
		} else if count == 0 {
			count = 1
		}
		object := strings.ToLower(e.InvolvedObject.Kind)
		if e.InvolvedObject.Name != "" {
			object += "/" + e.InvolvedObject.Name
		}
		return []interface{}{
			last, e.Type, e.Reason, object,
			e.InvolvedObject.FieldPath, eventSource(e), strings.TrimSpace(e.Message),
			first, int64(count), e.Name,
		}
	},
}

// eventSource is the SOURCE cell: "component, host", falling back to the
// events.k8s.io reporting controller and instance.
func eventSource(e *corev1.Event) string {
	component := registry.StringOr(e.Source.Component, e.ReportingController)
	host := registry.StringOr(e.Source.Host, e.ReportingInstance)
	if host == "" {
		return component
	}
	return component + ", " + host
}
