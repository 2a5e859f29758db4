package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/internal/storage"
)

// InitialEventsEndAnnotation marks the bookmark that ends the initial events
// of a watch with sendInitialEvents=true.
const InitialEventsEndAnnotation = metav1.InitialEventsAnnotationKey

// WatchOptions select and tune a watch.
type WatchOptions struct {
	ListOptions
	AllowBookmarks    bool
	SendInitialEvents *bool
}

// Watch streams changes as watch events until ctx ends. Errors that happen
// after the watch started arrive as one Error event carrying a Status.
func (s *Store) Watch(ctx context.Context, ns string, opts WatchOptions) (<-chan watch.Event, error) {
	initial, err := wantsInitialEvents(opts)
	if err != nil {
		return nil, err
	}
	out := make(chan watch.Event, 100)
	var items []runtime.Object
	var startRev int64
	if initial {
		lo := opts.ListOptions
		lo.Limit, lo.Continue = 0, ""
		if opts.SendInitialEvents != nil && lo.ResourceVersion == "" {
			// NotOlderThan with no resourceVersion is a consistent read.
			lo.ResourceVersionMatch = ""
		}
		var page storage.ListResult
		items, page, err = s.listItems(ctx, ns, lo)
		if err != nil {
			return nil, err
		}
		startRev = page.Revision
	} else if opts.ResourceVersion != "" {
		if startRev, err = parseRV(opts.ResourceVersion); err != nil {
			return nil, err
		}
	} else if startRev, err = s.storage.CurrentRevision(ctx); err != nil {
		return nil, err
	}
	events, err := s.storage.Watch(ctx, s.prefix(ns), storage.WatchOptions{Revision: startRev, Bookmarks: opts.AllowBookmarks})
	if errors.Is(err, storage.ErrCompacted) {
		go func() {
			defer close(out)
			sendEvent(ctx, out, watch.Event{Type: watch.Error, Object: tooOld(startRev)})
		}()
		return out, nil
	}
	if err != nil {
		return nil, s.storageError(err, "")
	}
	go s.pump(ctx, out, events, items, startRev, opts)
	return out, nil
}

func wantsInitialEvents(opts WatchOptions) (bool, error) {
	if opts.SendInitialEvents == nil {
		return opts.ResourceVersion == "" || opts.ResourceVersion == "0", nil
	}
	if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
		return false, apierrors.NewBadRequest("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
	}
	if *opts.SendInitialEvents && !opts.AllowBookmarks {
		return false, apierrors.NewBadRequest("sendInitialEvents requires allowWatchBookmarks=true")
	}
	return *opts.SendInitialEvents, nil
}

func tooOld(rev int64) *metav1.Status {
	return &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusGone,
		Reason:  metav1.StatusReasonExpired,
		Message: fmt.Sprintf("too old resource version: %d", rev),
	}
}

// pump sends the initial items, then converts storage events.
func (s *Store) pump(ctx context.Context, out chan<- watch.Event, events <-chan storage.Event, items []runtime.Object, startRev int64, opts WatchOptions) {
	defer close(out)
	for _, it := range items {
		if !sendEvent(ctx, out, watch.Event{Type: watch.Added, Object: it}) {
			return
		}
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		bm := s.bookmark(startRev)
		m, _ := metaOf(bm)
		m.SetAnnotations(map[string]string{InitialEventsEndAnnotation: "true"})
		if !sendEvent(ctx, out, watch.Event{Type: watch.Bookmark, Object: bm}) {
			return
		}
	}
	for ev := range events {
		e, ok := s.convertEvent(ev, opts)
		if !ok {
			continue
		}
		if !sendEvent(ctx, out, e) {
			return
		}
		if e.Type == watch.Error {
			return
		}
	}
}

func sendEvent(ctx context.Context, out chan<- watch.Event, e watch.Event) bool {
	select {
	case out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Store) bookmark(rev int64) runtime.Object {
	obj := s.Resource.New()
	setRV(obj, rev)
	return obj
}

// convertEvent decodes a storage event and applies the selectors, turning
// objects that enter or leave the selection into ADDED and DELETED.
func (s *Store) convertEvent(ev storage.Event, opts WatchOptions) (watch.Event, bool) {
	switch ev.Type {
	case storage.Bookmark:
		if !opts.AllowBookmarks {
			return watch.Event{}, false
		}
		return watch.Event{Type: watch.Bookmark, Object: s.bookmark(ev.Revision)}, true
	case storage.Error:
		if errors.Is(ev.Err, storage.ErrWatchDropped) {
			// End the stream without an error: clients (client-go's
			// reflector) watch again from the last resourceVersion they
			// saw, as after a timeout, instead of relisting after a 410.
			return watch.Event{}, false
		}
		if errors.Is(ev.Err, storage.ErrCompacted) {
			return watch.Event{Type: watch.Error, Object: tooOld(opts.startRevHint())}, true
		}
		return watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(ev.Err).ErrStatus}, true
	}
	obj, err := s.decodeEvent(ev.Key, ev.Value, ev.Revision)
	if err != nil {
		return watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus}, true
	}
	cur, _ := s.Matches(obj, opts.ListOptions)
	prev := cur
	// Without selectors every object matches: the previous value need not
	// be decoded.
	if ev.PrevValue != nil && ev.Type == storage.Modified && opts.selects() {
		if p, err := s.decodePrev(ev); err == nil {
			prev, _ = s.Matches(p, opts.ListOptions)
		}
	}
	switch {
	case ev.Type == storage.Added && cur:
		return watch.Event{Type: watch.Added, Object: obj}, true
	case ev.Type == storage.Deleted && (cur || prev):
		return watch.Event{Type: watch.Deleted, Object: obj}, true
	case ev.Type == storage.Modified && cur && prev:
		return watch.Event{Type: watch.Modified, Object: obj}, true
	case ev.Type == storage.Modified && cur:
		return watch.Event{Type: watch.Added, Object: obj}, true
	case ev.Type == storage.Modified && prev:
		return watch.Event{Type: watch.Deleted, Object: obj}, true
	}
	return watch.Event{}, false
}

// selects reports whether the watch has a label or field selector.
func (o WatchOptions) selects() bool {
	return (o.Labels != nil && !o.Labels.Empty()) || (o.Fields != nil && !o.Fields.Empty())
}

func (o WatchOptions) startRevHint() int64 {
	n, _ := parseRV(o.ResourceVersion)
	return n
}
