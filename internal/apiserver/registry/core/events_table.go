package core

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var eventTable = &registry.TableDef{
	OmitName: true,
	Columns: []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: "The time at which the most recent occurrence of this event was recorded."},
		{Name: "Type", Type: "string", Description: "Type of this event (Normal, Warning), new types could be added in the future."},
		{Name: "Reason", Type: "string", Description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."},
		{Name: "Object", Type: "string", Description: "The object that this event is about."},
		{Name: "Subobject", Type: "string", Priority: 1, Description: "The field of the object this event is about."},
		{Name: "Source", Type: "string", Priority: 1, Description: "The component reporting this event."},
		{Name: "Message", Type: "string", Description: "A human-readable description of the status of this operation."},
		{Name: "First Seen", Type: "string", Priority: 1, Description: "The time at which the event was first recorded."},
		{Name: "Count", Type: "string", Priority: 1, Description: "The number of times this event has occurred."},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: "Name must be unique within a namespace."},
	},
	Cells: func(obj runtime.Object, now time.Time) []interface{} {
		e := obj.(*corev1.Event)
		first, last := eventTimes(e)
		count := e.Count
		if e.Series != nil {
			count = e.Series.Count
		}
		if count == 0 {
			count = 1
		}
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		if e.Source.Host != "" {
			source += ", " + e.Source.Host
		}
		return []interface{}{
			registry.Age(last, now), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name,
			e.InvolvedObject.FieldPath, source, strings.TrimSpace(e.Message),
			registry.Age(first, now), int64(count), e.Name,
		}
	},
}

// eventTimes returns when an event was first and last seen, whichever API
// (core/v1 timestamps or events.k8s.io eventTime/series) recorded it.
func eventTimes(e *corev1.Event) (first, last metav1.Time) {
	first, last = e.FirstTimestamp, e.LastTimestamp
	if e.Series != nil && !e.Series.LastObservedTime.IsZero() {
		last = metav1.Time{Time: e.Series.LastObservedTime.Time}
	}
	if first.IsZero() && !e.EventTime.IsZero() {
		first = metav1.Time{Time: e.EventTime.Time}
	}
	if last.IsZero() {
		last = first
	}
	if first.IsZero() {
		first, last = e.CreationTimestamp, e.CreationTimestamp
	}
	return first, last
}
