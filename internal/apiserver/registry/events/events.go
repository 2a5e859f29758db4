// Package events serves events.k8s.io/v1 events from the same storage as
// core/v1 events, converting between the two shapes.
package events

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
)

// Resources lists the events.k8s.io/v1 resources.
func Resources(ttl time.Duration) []*registry.Resource {
	return []*registry.Resource{
		registry.Define(registry.Resource{
			GVR:  schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"},
			Kind: "Event", SingularName: "event", Namespaced: true, ShortNames: []string{"ev"},
			AllowCreateOnUpdate: true, TTL: ttl, StoragePrefix: core.EventsStoragePrefix,
			New:     func() runtime.Object { return &corev1.Event{} },
			NewList: func() runtime.Object { return &corev1.EventList{} },
			Conversion: &registry.Conversion{
				StorageKind: corev1.SchemeGroupVersion.WithKind("Event"),
				New:         func() runtime.Object { return &eventsv1.Event{} },
				NewList:     func() runtime.Object { return &eventsv1.EventList{} },
				ToStorage:   func(o runtime.Object) (runtime.Object, error) { return ToCore(o.(*eventsv1.Event)), nil },
				FromStorage: func(o runtime.Object) (runtime.Object, error) { return FromCore(o.(*corev1.Event)), nil },
			},
		}, registry.Strategy[*corev1.Event]{FieldSet: core.EventFields, Table: core.EventTable}),
	}
}

// ToCore converts an events.k8s.io/v1 event to core/v1.
func ToCore(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          *in.ObjectMeta.DeepCopy(),
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if s := in.Series; s != nil {
		out.Series = &corev1.EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	return out
}

// FromCore converts a core/v1 event to events.k8s.io/v1.
func FromCore(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		ObjectMeta:               *in.ObjectMeta.DeepCopy(),
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if s := in.Series; s != nil {
		out.Series = &eventsv1.EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	return out
}
