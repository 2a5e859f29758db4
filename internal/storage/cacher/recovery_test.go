package cacher

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
)

// faultyBackend lets a test break the cache's backend watch: an event sent
// on inject is delivered in the current backend watch, and an Error event
// ends that watch as a real failure would.
type faultyBackend struct {
	*countingBackend
	inject chan storage.Event
}

func (b *faultyBackend) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	in, err := b.countingBackend.Watch(ctx, prefix, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan storage.Event)
	go func() {
		defer close(out)
		defer cancel()
		for {
			var ev storage.Event
			var ok bool
			select {
			case ev, ok = <-in:
				if !ok {
					return
				}
			case ev = <-b.inject:
			case <-ctx.Done():
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
			if ev.Type == storage.Error {
				return
			}
		}
	}()
	return out, nil
}

func TestCacherRecoversFromBackendWatchErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		// wantRelist: the cache lists again and ends existing watchers
		// with an error wrapping storage.ErrCompacted.
		wantRelist bool
	}{
		{name: "broken watch resumes", err: errors.New("connection reset")},
		{name: "compacted watch relists", err: fmt.Errorf("watch: %w", storage.ErrCompacted), wantRelist: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &faultyBackend{countingBackend: newCountingBackend(t), inject: make(chan storage.Event)}
			c := startCacher(t, backend, "/registry/core/pods/")
			ctx := t.Context()
			ch, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{})
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			lists := backend.lists.Load()

			select {
			case backend.inject <- storage.Event{Type: storage.Error, Err: tc.err}:
			case <-time.After(waitTimeout):
				t.Fatal("cache never read its backend watch")
			}
			rev, err := c.Create(ctx, "/registry/core/pods/default/after", []byte("v"))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}

			ev := nextEvent(t, ch)
			if tc.wantRelist {
				if ev.Type != storage.Error || !errors.Is(ev.Err, storage.ErrCompacted) {
					t.Fatalf("existing watcher got %v %v, want Error wrapping ErrCompacted", ev.Type, ev.Err)
				}
				ch, err = c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{Revision: rev - 1})
				if err != nil {
					t.Fatalf("Watch after relist: %v", err)
				}
				ev = nextEvent(t, ch)
			}
			if ev.Type != storage.Added || ev.Revision != rev {
				t.Fatalf("event after the failure = %v @%d, want Added @%d", ev.Type, ev.Revision, rev)
			}
			if got := backend.lists.Load() - lists; (got > 0) != tc.wantRelist {
				t.Fatalf("backend lists after the failure: %d, want relist %v", got, tc.wantRelist)
			}
			res, err := c.List(ctx, "/registry/core/pods/", storage.ListOptions{Match: storage.MatchNotOlderThan, Revision: rev})
			if err != nil || len(res.Items) != 1 {
				t.Fatalf("List = %v, %v; want the one pod", res.Items, err)
			}
		})
	}
}
