// Package storagetest is the contract suite every storage.Interface
// implementation must pass: the etcd Store, the watch cache, and any backend
// added later.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
)

// Options tunes RunContractTests.
type Options struct {
	// Compact discards the store's history up to rev. Nil skips the
	// compaction cases.
	Compact func(ctx context.Context, rev int64) error
	// Timeout bounds every wait for an event (default 30s). Waits end as soon
	// as the event arrives; the timeout only turns a hang into a failure.
	Timeout time.Duration
}

// contractCase is one named behaviour of the contract.
type contractCase struct {
	name        string
	needCompact bool
	run         func(e *env)
}

// RunContractTests runs the contract against stores made by newStore, one
// per case. Stores may share one backend: every case writes only under its
// own fresh prefix and never assumes absolute revisions.
func RunContractTests(t *testing.T, newStore func(t *testing.T) storage.Interface, opts Options) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	var cases []contractCase
	cases = append(cases, kvCases()...)
	cases = append(cases, listCases()...)
	cases = append(cases, watchCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needCompact && opts.Compact == nil {
				t.Skip("no Compact hook given")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*opts.Timeout)
			defer cancel()
			tc.run(&env{t: t, ctx: ctx, s: newStore(t), prefix: uniquePrefix(t), opts: opts})
		})
	}
}

// env is what a case works with.
type env struct {
	t      *testing.T
	ctx    context.Context
	s      storage.Interface
	prefix string // fresh, ends in "/"
	opts   Options
}

// uniquePrefix returns a prefix no other case or run uses.
func uniquePrefix(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/registry/contract/%s-%d/", name, time.Now().UnixNano())
}

// key returns an absolute key under the case prefix.
func (e *env) key(name string) string { return e.prefix + name }

func (e *env) create(key, value string) int64 {
	e.t.Helper()
	rev, err := e.s.Create(e.ctx, key, []byte(value))
	if err != nil {
		e.t.Fatalf("Create(%s): %v", key, err)
	}
	return rev
}

func (e *env) update(key, value string, rev int64) int64 {
	e.t.Helper()
	newRev, err := e.s.Update(e.ctx, key, []byte(value), rev)
	if err != nil {
		e.t.Fatalf("Update(%s, %d): %v", key, rev, err)
	}
	return newRev
}

func (e *env) del(key string) storage.KeyValue {
	e.t.Helper()
	kv, err := e.s.Delete(e.ctx, key, 0)
	if err != nil {
		e.t.Fatalf("Delete(%s): %v", key, err)
	}
	return kv
}

func (e *env) watch(prefix string, opts storage.WatchOptions) <-chan storage.Event {
	e.t.Helper()
	ch, err := e.s.Watch(e.ctx, prefix, opts)
	if err != nil {
		e.t.Fatalf("Watch(%s, %+v): %v", prefix, opts, err)
	}
	return ch
}

// next returns the next event that is not a bookmark.
func (e *env) next(ch <-chan storage.Event) storage.Event {
	e.t.Helper()
	for {
		ev := e.nextAny(ch)
		if ev.Type != storage.Bookmark {
			return ev
		}
	}
}

// nextAny returns the next event, failing if the channel closes or nothing
// arrives within the timeout.
func (e *env) nextAny(ch <-chan storage.Event) storage.Event {
	e.t.Helper()
	timer := time.NewTimer(e.opts.Timeout)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			e.t.Fatal("watch closed, want an event")
		}
		return ev
	case <-timer.C:
		e.t.Fatalf("no watch event within %v", e.opts.Timeout)
	}
	return storage.Event{}
}

// waitClosed drains ch until it closes and returns the drained events.
func (e *env) waitClosed(ch <-chan storage.Event) []storage.Event {
	e.t.Helper()
	timer := time.NewTimer(e.opts.Timeout)
	defer timer.Stop()
	var got []storage.Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timer.C:
			e.t.Fatalf("watch not closed within %v (drained %d events)", e.opts.Timeout, len(got))
		}
	}
}

// wantEvent is the part of an event a case checks.
type wantEvent struct {
	typ   storage.EventType
	key   string
	value string
	rev   int64
}

// expectEvents checks the next non-bookmark events against want, in order.
func (e *env) expectEvents(ch <-chan storage.Event, want []wantEvent) {
	e.t.Helper()
	for i, w := range want {
		ev := e.next(ch)
		if ev.Type == storage.Error {
			e.t.Fatalf("event %d: Error %v, want %s %s", i, ev.Err, typeName(w.typ), w.key)
		}
		if ev.Type != w.typ || ev.Key != w.key || string(ev.Value) != w.value || ev.Revision != w.rev {
			e.t.Fatalf("event %d = %s %s %q @%d, want %s %s %q @%d", i,
				typeName(ev.Type), ev.Key, ev.Value, ev.Revision, typeName(w.typ), w.key, w.value, w.rev)
		}
	}
}

// wantErr fails unless errors.Is(err, want) (want nil: err must be nil).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func typeName(t storage.EventType) string {
	switch t {
	case storage.Added:
		return "Added"
	case storage.Modified:
		return "Modified"
	case storage.Deleted:
		return "Deleted"
	case storage.Bookmark:
		return "Bookmark"
	case storage.Error:
		return "Error"
	default:
		return fmt.Sprintf("EventType(%d)", int(t))
	}
}

// run runs f as a named subtest with its own *testing.T.
func (e *env) run(name string, f func(e *env)) {
	e.t.Run(name, func(t *testing.T) {
		sub := *e
		sub.t = t
		f(&sub)
	})
}
