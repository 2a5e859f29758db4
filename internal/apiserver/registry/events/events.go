// Package events defines events.k8s.io/v1 events.
package events

import (
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Resources lists the events.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, "Event", true,
			func() runtime.Object { return &eventsv1.Event{} },
			func() runtime.Object { return &eventsv1.EventList{} },
			func(r *registry.Resource) { r.ShortNames = []string{"ev"} }),
	}
}
