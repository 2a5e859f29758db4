package cacher

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
)

// ErrWatcherTooSlow ends a watch whose consumer fell so far behind that its
// buffer filled. It wraps storage.ErrWatchDropped: the consumer resumes
// from its last revision, which the ring (or the backend) still serves; a
// relist would cost far more than the replay.
var ErrWatcherTooSlow = fmt.Errorf("cacher: watcher fell behind: %w", storage.ErrWatchDropped)

// errRelisted ends watches that may have missed events because the cache
// had to list the backend again.
var errRelisted = fmt.Errorf("cacher: watch cache relisted: %w", storage.ErrCompacted)

// progressRequester is implemented by backends that can be asked to send a
// Bookmark to their synced watches right away (the etcd Store does). It
// fails with storage.ErrProgressUnsupported when the backend cannot.
type progressRequester interface {
	RequestProgress(ctx context.Context) error
}

// Cacher is a watch cache for one prefix in front of a storage.Interface.
// Writes, Get, exact-revision and paginated lists go to the backend; lists
// of the latest data and watches are served from memory once Ready.
type Cacher struct {
	backend storage.Interface
	prefix  string
	opts    options
	ready   chan struct{}
	// progressReq asks progressLoop for one backend progress request; its
	// capacity of 1 coalesces bursts.
	progressReq chan struct{}
	// progressOK is false when the backend cannot send progress on request:
	// consistent lists then read the backend instead of waiting.
	progressOK atomic.Bool
	startOnce  sync.Once

	// mu guards the fields below. Nothing else is locked while mu is held:
	// sends to watcher buffers never block.
	mu       sync.RWMutex
	items    map[string]storage.KeyValue
	rev      int64
	revCh    chan struct{} // closed and replaced whenever rev advances
	ring     *eventRing
	watchers map[int64]*cacheWatcher
	nextID   int64
	// heard is set by every backend event or bookmark and cleared by the
	// bookmark ticker, which asks for progress when the cache was idle.
	heard   bool
	stopped bool
}

var _ storage.Interface = (*Cacher)(nil)

type options struct {
	ringSize         int
	watcherBuffer    int
	bookmarkInterval time.Duration
	catchUpTimeout   time.Duration
	listPageSize     int64
	log              *slog.Logger
}

// Option tunes a Cacher.
type Option func(*options)

// WithEventRingSize sets how many recent events are kept for watches that
// start in the past (default 10,000).
func WithEventRingSize(n int) Option { return func(o *options) { o.ringSize = n } }

// WithWatcherBuffer sets how many events a watcher may lag behind before it
// is terminated with ErrWatcherTooSlow (default 1,024).
func WithWatcherBuffer(n int) Option { return func(o *options) { o.watcherBuffer = n } }

// WithBookmarkInterval sets how often watchers that asked for bookmarks get
// one when the cache revision moved past their last event (default 1s).
func WithBookmarkInterval(d time.Duration) Option {
	return func(o *options) { o.bookmarkInterval = d }
}

// WithCatchUpTimeout bounds how long a list or watch waits for the cache to
// be ready or to reach a revision before going to the backend (default 3s).
func WithCatchUpTimeout(d time.Duration) Option {
	return func(o *options) { o.catchUpTimeout = d }
}

// WithLogger sets the logger for backend failures (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New returns a Cacher for prefix (a resource prefix ending in "/", or one
// key). It serves nothing from memory until Start has listed the backend.
func New(backend storage.Interface, prefix string, opts ...Option) *Cacher {
	o := options{
		ringSize:         10000,
		watcherBuffer:    1024,
		bookmarkInterval: time.Second,
		catchUpTimeout:   3 * time.Second,
		listPageSize:     5000,
		log:              slog.Default(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.ringSize = max(o.ringSize, 1)
	o.watcherBuffer = max(o.watcherBuffer, 1)
	if o.bookmarkInterval <= 0 {
		o.bookmarkInterval = time.Second
	}
	o.catchUpTimeout = max(o.catchUpTimeout, 0)
	c := &Cacher{
		backend:     backend,
		prefix:      prefix,
		opts:        o,
		ready:       make(chan struct{}),
		progressReq: make(chan struct{}, 1),
		items:       map[string]storage.KeyValue{},
		revCh:       make(chan struct{}),
		ring:        newEventRing(o.ringSize),
		watchers:    map[int64]*cacheWatcher{},
	}
	_, ok := backend.(progressRequester)
	c.progressOK.Store(ok)
	return c
}

// Ready is closed once the cache holds a complete list of its prefix.
func (c *Cacher) Ready() <-chan struct{} { return c.ready }

// Create delegates to the backend.
func (c *Cacher) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return c.backend.Create(ctx, key, value)
}

// Get delegates to the backend.
func (c *Cacher) Get(ctx context.Context, key string) (storage.KeyValue, error) {
	return c.backend.Get(ctx, key)
}

// GetCached returns key's value as the cache holds it — possibly behind
// the backend — without a round trip; ok is false when the cache is not
// ready, does not cover key or does not hold it.
func (c *Cacher) GetCached(key string) (kv storage.KeyValue, ok bool) {
	select {
	case <-c.ready:
	default:
		return storage.KeyValue{}, false
	}
	if !c.covers(key) || strings.HasSuffix(key, "/") {
		return storage.KeyValue{}, false
	}
	c.mu.RLock()
	kv, ok = c.items[key]
	c.mu.RUnlock()
	return kv, ok
}

// Update delegates to the backend.
func (c *Cacher) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	return c.backend.Update(ctx, key, value, expectedRevision)
}

// Delete delegates to the backend.
func (c *Cacher) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KeyValue, error) {
	return c.backend.Delete(ctx, key, expectedRevision)
}

// CurrentRevision delegates to the backend.
func (c *Cacher) CurrentRevision(ctx context.Context) (int64, error) {
	return c.backend.CurrentRevision(ctx)
}

// List serves unpaginated MatchLatest and MatchNotOlderThan lists of the
// cached prefix from memory, after waiting (bounded) for the cache to reach
// the backend's current revision or the requested one. Everything else, and
// a cache that does not catch up in time, goes to the backend.
func (c *Cacher) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	if opts.Limit != 0 || opts.Continue != "" || !c.covers(prefix) {
		return c.backend.List(ctx, prefix, opts)
	}
	var want int64
	switch opts.Match {
	case storage.MatchLatest:
		rev, err := c.backend.CurrentRevision(ctx)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		if !c.progressOK.Load() && !c.reached(rev) {
			// Without progress requests the cache may not learn that it is
			// current until the next write to its prefix.
			return c.backend.List(ctx, prefix, opts)
		}
		want = rev
	case storage.MatchNotOlderThan:
		want = opts.Revision
	default:
		return c.backend.List(ctx, prefix, opts)
	}
	if !c.waitForRevision(ctx, want) {
		return c.backend.List(ctx, prefix, opts)
	}
	return c.snapshot(prefix), nil
}

// snapshot returns the cached items under prefix, sorted by key.
func (c *Cacher) snapshot(prefix string) storage.ListResult {
	if !strings.HasSuffix(prefix, "/") {
		// One key: a map lookup, not a scan.
		c.mu.RLock()
		kv, ok := c.items[prefix]
		res := storage.ListResult{Revision: c.rev}
		c.mu.RUnlock()
		if ok {
			res.Items = []storage.KeyValue{kv}
		}
		return res
	}
	match := keyMatcher(prefix)
	c.mu.RLock()
	res := storage.ListResult{Revision: c.rev, Items: make([]storage.KeyValue, 0, len(c.items))}
	for key, kv := range c.items {
		if match(key) {
			res.Items = append(res.Items, kv)
		}
	}
	c.mu.RUnlock()
	sort.Slice(res.Items, func(i, j int) bool { return res.Items[i].Key < res.Items[j].Key })
	return res
}

// reached reports whether the cache is ready and at rev or later.
func (c *Cacher) reached(rev int64) bool {
	select {
	case <-c.ready:
	default:
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.stopped && c.rev >= rev
}

// waitForRevision waits, at most the catch-up timeout, until the cache is
// ready and at revision rev or later. It reports whether it got there.
func (c *Cacher) waitForRevision(ctx context.Context, rev int64) bool {
	timer := time.NewTimer(c.opts.catchUpTimeout)
	defer timer.Stop()
	select {
	case <-c.ready:
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
	asked := false
	for {
		c.mu.RLock()
		cur, changed, stopped := c.rev, c.revCh, c.stopped
		c.mu.RUnlock()
		if stopped {
			return false
		}
		if cur >= rev {
			return true
		}
		if !asked {
			// The newest writes may be to other prefixes: a progress
			// notification moves the cache revision without an event.
			c.requestProgress()
			asked = true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// requestProgress asks progressLoop for a backend progress notification.
func (c *Cacher) requestProgress() {
	select {
	case c.progressReq <- struct{}{}:
	default:
	}
}

// covers reports whether prefix (or key) lies within the cached prefix.
func (c *Cacher) covers(prefix string) bool {
	if strings.HasSuffix(c.prefix, "/") {
		return strings.HasPrefix(prefix, c.prefix)
	}
	return prefix == c.prefix
}

// keyMatcher returns the key filter for a watch or list of prefix: a prefix
// ending in "/" matches keys under it, anything else only itself.
func keyMatcher(prefix string) func(string) bool {
	if strings.HasSuffix(prefix, "/") {
		return func(key string) bool { return strings.HasPrefix(key, prefix) }
	}
	return func(key string) bool { return key == prefix }
}
