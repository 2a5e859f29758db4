package storagetest

import (
	"context"
	"fmt"

	"github.com/skiffhq/skiff/internal/storage"
)

func watchCases() []contractCase {
	return []contractCase{
		{name: "watch from revision replays later events in order", run: testWatchReplay},
		{name: "watch from zero sees only new events", run: testWatchFromNow},
		{name: "watch of a single key", run: testWatchSingleKey},
		{name: "deleted event carries last value", run: testWatchDeleted},
		{name: "modified event carries previous value", run: testWatchPrevValue},
		{name: "watch omitting previous values still sees deletes", run: testWatchOmitPrevValue},
		{name: "watch sends bookmarks when asked", run: testWatchBookmarks},
		{name: "cancel closes the watch", run: testWatchCancel},
		{name: "compacted revision is gone", needCompact: true, run: testCompacted},
	}
}

func testWatchReplay(e *env) {
	start := e.create(e.key("x/a"), "a1")
	r1 := e.update(e.key("x/a"), "a2", start)
	r2 := e.create(e.key("x/b"), "b1")
	e.create(e.key("x2/sibling"), "not watched")
	r3 := e.del(e.key("x/a")).Revision
	var more []wantEvent
	for i := range 20 {
		key := e.key(fmt.Sprintf("x/n%02d", i))
		more = append(more, wantEvent{storage.Added, key, "n", e.create(key, "n")})
	}

	ch := e.watch(e.key("x/"), storage.WatchOptions{Revision: start})
	e.expectEvents(ch, append([]wantEvent{
		{storage.Modified, e.key("x/a"), "a2", r1},
		{storage.Added, e.key("x/b"), "b1", r2},
		{storage.Deleted, e.key("x/a"), "a2", r3},
	}, more...))

	// Live events follow the replay.
	r4 := e.update(e.key("x/b"), "b2", r2)
	e.expectEvents(ch, []wantEvent{{storage.Modified, e.key("x/b"), "b2", r4}})
}

func testWatchFromNow(e *env) {
	old := e.create(e.key("a"), "old")
	e.update(e.key("a"), "older", old)
	ch := e.watch(e.prefix, storage.WatchOptions{})
	rev := e.create(e.key("b"), "new")
	e.expectEvents(ch, []wantEvent{{storage.Added, e.key("b"), "new", rev}})
}

func testWatchSingleKey(e *env) {
	key := e.key("pods/web")
	start := e.create(key, "v1")
	ch := e.watch(key, storage.WatchOptions{Revision: start})
	e.create(e.key("pods/web-0"), "shares the key as a string prefix")
	e.create(e.key("pods/web/child"), "below the key")
	e.create(e.key("pods/other"), "other key")
	r1 := e.update(key, "v2", start)
	r2 := e.del(key).Revision
	r3 := e.create(key, "v3")
	e.expectEvents(ch, []wantEvent{
		{storage.Modified, key, "v2", r1},
		{storage.Deleted, key, "v2", r2},
		{storage.Added, key, "v3", r3},
	})
}

func testWatchDeleted(e *env) {
	first := e.create(e.key("a"), "v1")
	last := e.update(e.key("a"), "v2", first)
	ch := e.watch(e.prefix, storage.WatchOptions{})
	kv, err := e.s.Delete(e.ctx, e.key("a"), last)
	wantErr(e.t, "Delete", err, nil)
	ev := e.next(ch)
	if ev.Type != storage.Deleted || string(ev.Value) != "v2" || ev.Revision != kv.Revision {
		e.t.Fatalf("event = %s %q @%d, want Deleted %q @%d", typeName(ev.Type), ev.Value, ev.Revision, "v2", kv.Revision)
	}
	if ev.PrevValue != nil && (string(ev.PrevValue) != "v2" || ev.PrevRevision != last) {
		e.t.Fatalf("Deleted PrevValue = %q @%d, want %q @%d", ev.PrevValue, ev.PrevRevision, "v2", last)
	}
}

func testWatchPrevValue(e *env) {
	first := e.create(e.key("a"), "v1")
	ch := e.watch(e.prefix, storage.WatchOptions{Revision: first})
	rev := e.update(e.key("a"), "v2", first)
	ev := e.next(ch)
	if ev.Type != storage.Modified || string(ev.Value) != "v2" || string(ev.PrevValue) != "v1" || ev.Revision != rev {
		e.t.Fatalf("event = %s %q (prev %q) @%d, want Modified %q (prev %q) @%d",
			typeName(ev.Type), ev.Value, ev.PrevValue, ev.Revision, "v2", "v1", rev)
	}
	if ev.PrevRevision != first {
		e.t.Fatalf("PrevRevision = %d, want %d", ev.PrevRevision, first)
	}
}

// testWatchOmitPrevValue: OmitPrevValue allows a backend to leave previous
// values out (Deleted then has no Value); everything else is as usual.
func testWatchOmitPrevValue(e *env) {
	first := e.create(e.key("a"), "v1")
	ch := e.watch(e.prefix, storage.WatchOptions{Revision: first, OmitPrevValue: true})
	r1 := e.update(e.key("a"), "v2", first)
	r2 := e.del(e.key("a")).Revision
	r3 := e.create(e.key("b"), "b1")
	for _, want := range []wantEvent{{storage.Modified, e.key("a"), "v2", r1}, {storage.Deleted, e.key("a"), "", r2}, {storage.Added, e.key("b"), "b1", r3}} {
		ev := e.next(ch)
		if ev.Type != want.typ || ev.Key != want.key || ev.Revision != want.rev {
			e.t.Fatalf("event = %s %s @%d, want %s %s @%d", typeName(ev.Type), ev.Key, ev.Revision, typeName(want.typ), want.key, want.rev)
		}
		if want.typ != storage.Deleted && string(ev.Value) != want.value {
			e.t.Fatalf("%s value = %q, want %q", typeName(ev.Type), ev.Value, want.value)
		}
		if ev.Value != nil && want.typ == storage.Deleted && string(ev.Value) != "v2" {
			e.t.Fatalf("Deleted value = %q, want none or %q", ev.Value, "v2")
		}
	}
}

func testWatchBookmarks(e *env) {
	ch := e.watch(e.key("watched/"), storage.WatchOptions{Bookmarks: true})
	// A write elsewhere moves the store revision; a bookmark must report it
	// although the watch sees no event.
	rev := e.create(e.key("elsewhere/x"), "v")
	var last int64
	for {
		ev := e.nextAny(ch)
		if ev.Type != storage.Bookmark {
			e.t.Fatalf("got %s %s @%d, want only bookmarks", typeName(ev.Type), ev.Key, ev.Revision)
		}
		if ev.Revision < last {
			e.t.Fatalf("bookmark revision went back from %d to %d", last, ev.Revision)
		}
		last = ev.Revision
		if last >= rev {
			break
		}
	}
	// Events still flow, after the bookmark.
	r := e.create(e.key("watched/a"), "v")
	e.expectEvents(ch, []wantEvent{{storage.Added, e.key("watched/a"), "v", r}})
}

func testWatchCancel(e *env) {
	tests := []struct {
		name string
		opts func(start int64) storage.WatchOptions
	}{
		{name: "from now", opts: func(int64) storage.WatchOptions { return storage.WatchOptions{} }},
		{name: "from a revision", opts: func(start int64) storage.WatchOptions { return storage.WatchOptions{Revision: start} }},
		{name: "with bookmarks", opts: func(int64) storage.WatchOptions { return storage.WatchOptions{Bookmarks: true} }},
	}
	start := e.create(e.key("a"), "v")
	for _, tc := range tests {
		e.run(tc.name, func(e *env) {
			ctx, cancel := context.WithCancel(e.ctx)
			ch, err := e.s.Watch(ctx, e.prefix, tc.opts(start))
			if err != nil {
				cancel()
				e.t.Fatalf("Watch: %v", err)
			}
			cancel()
			for _, ev := range e.waitClosed(ch) {
				if ev.Type == storage.Error {
					e.t.Fatalf("cancelled watch sent Error %v", ev.Err)
				}
			}
		})
	}
}

// testCompacted needs a store whose history starts before revision 1 is
// compacted and that was created after revision 1, so revision 1 is outside
// any cache's window too.
func testCompacted(e *env) {
	e.create(e.key("a"), "v1")
	e.create(e.key("b"), "v1")
	page1 := e.list(e.prefix, storage.ListOptions{Limit: 1})
	e.create(e.key("c"), "v1")
	cur, err := e.s.CurrentRevision(e.ctx)
	wantErr(e.t, "CurrentRevision", err, nil)
	if err := e.opts.Compact(e.ctx, cur); err != nil {
		e.t.Fatalf("Compact(%d): %v", cur, err)
	}

	e.run("watch", func(e *env) {
		ch := e.watch(e.prefix, storage.WatchOptions{Revision: 1})
		ev := e.nextAny(ch)
		if ev.Type != storage.Error {
			e.t.Fatalf("first event %s %s, want Error", typeName(ev.Type), ev.Key)
		}
		wantErr(e.t, "watch from revision 1", ev.Err, storage.ErrCompacted)
		if rest := e.waitClosed(ch); len(rest) != 0 {
			e.t.Fatalf("watch went on after its Error event: %d more events", len(rest))
		}
	})
	e.run("list exact", func(e *env) {
		_, err := e.s.List(e.ctx, e.prefix, storage.ListOptions{Match: storage.MatchExact, Revision: 1})
		wantErr(e.t, "List at revision 1", err, storage.ErrCompacted)
	})
	e.run("continue", func(e *env) {
		_, err := e.s.List(e.ctx, e.prefix, storage.ListOptions{Limit: 1, Continue: page1.Continue})
		wantErr(e.t, "List page 2", err, storage.ErrCompacted)
	})
	e.run("current revision still readable", func(e *env) {
		res := e.list(e.prefix, storage.ListOptions{Match: storage.MatchExact, Revision: cur})
		if len(res.Items) != 3 {
			e.t.Fatalf("List at compaction revision has %d items, want 3", len(res.Items))
		}
	})
}
