package cacher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/storage/etcd/etcdtest"
	"github.com/skiffhq/skiff/internal/storage/storagetest"
)

// waitTimeout bounds every wait; waits end as soon as what they wait for
// happens.
const waitTimeout = 30 * time.Second

// startCacher starts a Cacher for prefix and waits until it is ready; it is
// stopped when the test ends.
func startCacher(t testing.TB, backend storage.Interface, prefix string, opts ...Option) *Cacher {
	t.Helper()
	opts = append([]Option{WithBookmarkInterval(50 * time.Millisecond), WithCatchUpTimeout(time.Second)}, opts...)
	c := New(backend, prefix, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Cacher.Start: %v", err)
		}
	})
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("Cacher.Start returned before ready: %v", err)
	case <-time.After(waitTimeout):
		t.Fatalf("cacher not ready within %v", waitTimeout)
	}
	return c
}

// countingBackend counts the calls that must be rare when the cache works.
// It embeds the etcd Store, so progress requests pass through.
type countingBackend struct {
	*etcd.Store
	watches atomic.Int64
	lists   atomic.Int64
}

func (b *countingBackend) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	b.watches.Add(1)
	return b.Store.Watch(ctx, prefix, opts)
}

func (b *countingBackend) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	b.lists.Add(1)
	return b.Store.List(ctx, prefix, opts)
}

func newCountingBackend(t testing.TB) *countingBackend {
	return &countingBackend{Store: etcd.New(etcdtest.Start(t).Client())}
}

func TestCacherContract(t *testing.T) {
	store := etcd.New(etcdtest.Start(t).Client())
	storagetest.RunContractTests(t, func(t *testing.T) storage.Interface {
		return startCacher(t, store, "/registry/")
	}, storagetest.Options{Compact: store.Compact})
}

func TestCacherSingleKeyCache(t *testing.T) {
	store := etcd.New(etcdtest.Start(t).Client())
	const key = "/registry/core/configmaps/default/one"
	ctx := t.Context()
	start, err := store.Create(ctx, key, []byte("v1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	c := startCacher(t, store, key)
	ch, err := c.Watch(ctx, key, storage.WatchOptions{Revision: start})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if _, err := store.Create(ctx, key+"-two", []byte("not this key")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	rev, err := store.Update(ctx, key, []byte("v2"), start)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	ev := nextEvent(t, ch)
	if ev.Type != storage.Modified || ev.Key != key || ev.Revision != rev {
		t.Fatalf("event = %v %s @%d, want Modified %s @%d", ev.Type, ev.Key, ev.Revision, key, rev)
	}
	res, err := c.List(ctx, key, storage.ListOptions{})
	if err != nil || len(res.Items) != 1 || string(res.Items[0].Value) != "v2" {
		t.Fatalf("List = %v, %v; want only %s=v2", res.Items, err, key)
	}
}

func TestCacherOneBackendWatchForManyWatchers(t *testing.T) {
	const watchers = 1000
	backend := newCountingBackend(t)
	c := startCacher(t, backend, "/registry/core/pods/")
	ctx := t.Context()
	chans := make([]<-chan storage.Event, watchers)
	for i := range chans {
		ch, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{})
		if err != nil {
			t.Fatalf("Watch %d: %v", i, err)
		}
		chans[i] = ch
	}
	rev, err := c.Create(ctx, "/registry/core/pods/default/web-0", []byte("pod"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for i, ch := range chans {
		ev := nextEvent(t, ch)
		if ev.Type != storage.Added || ev.Revision != rev {
			t.Fatalf("watcher %d got %v @%d, want Added @%d", i, ev.Type, ev.Revision, rev)
		}
	}
	if got := backend.watches.Load(); got != 1 {
		t.Fatalf("backend saw %d watches for %d cache watchers, want 1", got, watchers)
	}
}

func TestCacherSlowWatcherIsDropped(t *testing.T) {
	const writes = 20
	store := etcd.New(etcdtest.Start(t).Client())
	c := startCacher(t, store, "/registry/core/pods/", WithWatcherBuffer(4))
	ctx := t.Context()
	slow, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	fast, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var fastErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range writes {
			ev, ok := <-fast
			if !ok || ev.Type != storage.Added {
				fastErr = fmt.Errorf("fast watcher event %d: %v (open %v), want Added", i, ev.Type, ok)
				return
			}
		}
	}()
	// Nobody reads slow meanwhile: writes must not block on it.
	for i := range writes {
		if _, err := c.Create(ctx, fmt.Sprintf("/registry/core/pods/default/p%02d", i), []byte("v")); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	wg.Wait()
	if fastErr != nil {
		t.Fatal(fastErr)
	}
	var got []storage.Event
	for ev := range slow {
		got = append(got, ev)
	}
	if len(got) == 0 || len(got) > writes {
		t.Fatalf("slow watcher got %d events, want a few then Error", len(got))
	}
	last := got[len(got)-1]
	if last.Type != storage.Error || !errors.Is(last.Err, ErrWatcherTooSlow) || !errors.Is(last.Err, storage.ErrWatchDropped) ||
		errors.Is(last.Err, storage.ErrCompacted) {
		t.Fatalf("slow watcher's last event = %v %v, want Error %v", last.Type, last.Err, ErrWatcherTooSlow)
	}
}

func TestCacherWatchOlderThanRingUsesBackend(t *testing.T) {
	backend := newCountingBackend(t)
	c := startCacher(t, backend, "/registry/core/pods/", WithEventRingSize(3))
	ctx := t.Context()
	var revs []int64
	for i := range 10 {
		rev, err := c.Create(ctx, fmt.Sprintf("/registry/core/pods/default/p%d", i), []byte("v"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		revs = append(revs, rev)
	}
	// Make sure the cache has seen every write before choosing where to watch from.
	if _, err := c.List(ctx, "/registry/core/pods/", storage.ListOptions{Match: storage.MatchNotOlderThan, Revision: revs[9]}); err != nil {
		t.Fatalf("List: %v", err)
	}
	tests := []struct {
		name        string
		from        int
		wantBackend int64 // backend watches opened by this watch
	}{
		{name: "inside the ring", from: 7, wantBackend: 0},
		{name: "older than the ring", from: 0, wantBackend: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := backend.watches.Load()
			ch, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{Revision: revs[tc.from]})
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			for _, want := range revs[tc.from+1:] {
				if ev := nextEvent(t, ch); ev.Type != storage.Added || ev.Revision != want {
					t.Fatalf("event %v @%d, want Added @%d", ev.Type, ev.Revision, want)
				}
			}
			if got := backend.watches.Load() - before; got != tc.wantBackend {
				t.Fatalf("backend watches opened: %d, want %d", got, tc.wantBackend)
			}
		})
	}
}

func TestCacherListServedFromCache(t *testing.T) {
	backend := newCountingBackend(t)
	c := startCacher(t, backend, "/registry/core/pods/")
	ctx := t.Context()
	if _, err := c.Create(ctx, "/registry/core/pods/default/a", []byte("v")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	// The newest write is outside the cache's prefix: a consistent list must
	// still report a revision at least that new.
	outside, err := backend.Create(ctx, "/registry/core/nodes/n1", []byte("v"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	listsBefore := backend.lists.Load()
	res, err := c.List(ctx, "/registry/core/pods/", storage.ListOptions{Match: storage.MatchLatest})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(res.Items) != 1 || res.Revision < outside {
		t.Fatalf("List = %d items @%d, want 1 item @>=%d", len(res.Items), res.Revision, outside)
	}
	if got := backend.lists.Load() - listsBefore; got != 0 {
		t.Fatalf("List went to the backend %d times, want 0 (served from cache)", got)
	}
}

// nextEvent returns the next non-bookmark event from ch.
func nextEvent(t testing.TB, ch <-chan storage.Event) storage.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch closed, want an event")
			}
			if ev.Type != storage.Bookmark {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no event within %v", waitTimeout)
		}
	}
}

func TestCacherGetCached(t *testing.T) {
	backend := newCountingBackend(t)
	const key = "/registry/core/pods/default/a"
	if _, ok := New(backend, "/registry/core/pods/").GetCached(key); ok {
		t.Fatal("GetCached answered before the cache was ready")
	}
	c := startCacher(t, backend, "/registry/core/pods/")
	rev, err := c.Create(t.Context(), key, []byte("v"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	deadline := time.Now().Add(waitTimeout)
	kv, ok := c.GetCached(key)
	for ; !ok && time.Now().Before(deadline); kv, ok = c.GetCached(key) {
		time.Sleep(10 * time.Millisecond)
	}
	if !ok || string(kv.Value) != "v" || kv.Revision != rev {
		t.Fatalf("GetCached = %q@%d, %v; want \"v\"@%d", kv.Value, kv.Revision, ok, rev)
	}
	for _, other := range []string{"/registry/core/pods/default/b", "/registry/core/nodes/n1", "/registry/core/pods/"} {
		if _, ok := c.GetCached(other); ok {
			t.Errorf("GetCached(%s) answered, want not held", other)
		}
	}
}
