package cacher

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiffhq/skiff/internal/storage"
)

// cacheWatcher is one watch served from the cache. The follow loop queues
// events into input without blocking; the watcher's own goroutine (run)
// forwards them to the caller.
type cacheWatcher struct {
	id        int64
	match     func(key string) bool
	bookmarks bool
	// startRev: only events with a greater revision are delivered.
	startRev int64
	input    chan *storage.Event
	// stop is closed when the cache ends the watch; stopErr, written before
	// the close, is then sent as the last event (nil: close quietly).
	stop    chan struct{}
	stopErr error

	// lastRev is the revision of the newest event or bookmark queued.
	// Guarded by Cacher.mu.
	lastRev int64
}

// Watch serves a watch of a prefix (or single key) within the cached one
// from memory when its start revision is inside the event ring; 0 means the
// backend's current revision. Older starts, and watches while the cache is
// not ready, go to the backend.
func (c *Cacher) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	if !c.covers(prefix) || !c.waitForRevision(ctx, 0) {
		return c.backend.Watch(ctx, prefix, opts)
	}
	start := opts.Revision
	if start == 0 {
		rev, err := c.backend.CurrentRevision(ctx)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", prefix, err)
		}
		start = rev
	} else if !c.retained(ctx, prefix, start) {
		// The backend answers with the compaction error event.
		return c.backend.Watch(ctx, prefix, opts)
	}
	w, initial, ok := c.register(prefix, start, opts.Bookmarks)
	if !ok {
		return c.backend.Watch(ctx, prefix, opts)
	}
	out := make(chan storage.Event)
	go func() {
		defer close(out)
		defer c.unregister(w)
		w.run(ctx, initial, out)
	}()
	return out, nil
}

// retained reports whether the backend still holds revision rev. A watch
// from a compacted revision must end in 410 Gone even while the ring still
// holds the events after it: the contract is the store's, not the cache's.
// One small exact read costs little next to a watch start.
func (c *Cacher) retained(ctx context.Context, prefix string, rev int64) bool {
	_, err := c.backend.List(ctx, prefix, storage.ListOptions{Revision: rev, Match: storage.MatchExact, Limit: 1})
	return !errors.Is(err, storage.ErrCompacted)
}

// register adds a watcher starting after start and returns the ring events
// it must replay first; ok is false when the ring does not reach back to
// start or the cache stopped.
func (c *Cacher) register(prefix string, start int64, bookmarks bool) (*cacheWatcher, []*storage.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || !c.ring.covers(start) {
		return nil, nil, false
	}
	c.nextID++
	w := &cacheWatcher{
		id:        c.nextID,
		match:     keyMatcher(prefix),
		bookmarks: bookmarks,
		startRev:  start,
		input:     make(chan *storage.Event, c.opts.watcherBuffer),
		stop:      make(chan struct{}),
		lastRev:   max(start, c.rev),
	}
	c.watchers[w.id] = w
	return w, c.ring.since(start, w.match), true
}

// unregister forgets w once its goroutine ended.
func (c *Cacher) unregister(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.watchers, w.id)
}

// queueLocked hands ev to w without blocking, terminating w when its buffer
// is full. The caller holds c.mu.
func (c *Cacher) queueLocked(w *cacheWatcher, ev *storage.Event) {
	select {
	case w.input <- ev:
		w.lastRev = ev.Revision
	default:
		c.opts.log.Info("watch cache dropped a watcher that fell behind; it resumes from its last revision",
			"prefix", c.prefix, "revision", w.lastRev, "buffer", cap(w.input))
		c.terminateLocked(w, ErrWatcherTooSlow)
	}
}

// terminateLocked ends w with err (nil: quietly). The caller holds c.mu.
func (c *Cacher) terminateLocked(w *cacheWatcher, err error) {
	delete(c.watchers, w.id)
	w.stopErr = err
	close(w.stop)
}

// sendBookmarks queues a bookmark at the cache revision for every watcher
// that asked for them and has not been told about that revision yet. It
// reports whether any watcher wants bookmarks and whether the backend was
// quiet since the previous call.
func (c *Cacher) sendBookmarks() (wanted, quiet bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	quiet, c.heard = !c.heard, false
	for _, w := range c.watchers {
		if !w.bookmarks {
			continue
		}
		wanted = true
		if c.rev <= w.lastRev {
			continue
		}
		select {
		case w.input <- &storage.Event{Type: storage.Bookmark, Revision: c.rev}:
			w.lastRev = c.rev
		default: // a full buffer will end the watcher on its next event
		}
	}
	return wanted, quiet
}

// run delivers the replayed events, then queued ones, until ctx ends or the
// cache stops the watcher.
func (w *cacheWatcher) run(ctx context.Context, initial []*storage.Event, out chan<- storage.Event) {
	send := func(ev *storage.Event) bool {
		select {
		case out <- *ev:
			return true
		case <-ctx.Done():
			return false
		case <-w.stop:
			return false
		}
	}
	for _, ev := range initial {
		if !send(ev) {
			w.finish(ctx, out)
			return
		}
	}
	for {
		select {
		case ev := <-w.input:
			if !send(ev) {
				w.finish(ctx, out)
				return
			}
		case <-w.stop:
			w.finish(ctx, out)
			return
		case <-ctx.Done():
			return
		}
	}
}

// finish sends the stop error, if the cache stopped the watcher with one.
func (w *cacheWatcher) finish(ctx context.Context, out chan<- storage.Event) {
	select {
	case <-w.stop:
	default:
		return // ctx ended
	}
	if w.stopErr == nil {
		return
	}
	select {
	case out <- storage.Event{Type: storage.Error, Err: w.stopErr}:
	case <-ctx.Done():
	}
}
