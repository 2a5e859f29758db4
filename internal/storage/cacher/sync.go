package cacher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
)

// errAlreadyStarted is returned by a second call to Start.
var errAlreadyStarted = errors.New("cacher: already started")

const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 10 * time.Second
)

// Start lists the backend, then follows its watch, until ctx ends; it then
// closes every watcher and returns nil. A broken backend watch is resumed
// from the cache revision; a compacted one makes the cache list again.
func (c *Cacher) Start(ctx context.Context) error {
	started := false
	c.startOnce.Do(func() { started = true })
	if !started {
		return errAlreadyStarted
	}
	c.requestProgress() // learns early whether the backend supports it
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.bookmarkLoop(ctx) }()
	go func() { defer wg.Done(); c.progressLoop(ctx) }()
	defer wg.Wait()
	defer c.shutdown()

	listed := false
	delay := minRetryDelay
	for ctx.Err() == nil {
		var err error
		if !listed {
			if err = c.relist(ctx); err == nil {
				listed, delay = true, minRetryDelay
			}
		}
		if listed {
			var progressed bool
			progressed, err = c.follow(ctx)
			if progressed {
				delay = minRetryDelay
			}
			if errors.Is(err, storage.ErrCompacted) {
				c.opts.log.Info("watch cache fell behind compaction, relisting", "prefix", c.prefix, "err", err)
				listed = false
				continue
			}
		}
		if ctx.Err() != nil {
			break
		}
		c.opts.log.Warn("watch cache lost the backend, retrying", "prefix", c.prefix, "err", err, "delay", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
	return nil
}

// relist replaces the cache content with a fresh list of the backend, read
// page by page at one revision, and ends every existing watcher.
func (c *Cacher) relist(ctx context.Context) error {
	items := map[string]storage.KeyValue{}
	match := keyMatcher(c.prefix)
	opts := storage.ListOptions{Match: storage.MatchLatest, Limit: c.opts.listPageSize}
	var rev int64
	for {
		page, err := c.backend.List(ctx, c.prefix, opts)
		if err != nil {
			return fmt.Errorf("list %s: %w", c.prefix, err)
		}
		rev = page.Revision
		for _, kv := range page.Items {
			if match(kv.Key) {
				items[kv.Key] = kv
			}
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = items
	c.ring.reset(rev)
	c.setRevLocked(rev)
	for _, w := range c.watchers {
		c.terminateLocked(w, errRelisted)
	}
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	return nil
}

// follow applies backend events from the cache revision on until the backend
// watch ends, and returns why. progressed reports whether anything arrived.
func (c *Cacher) follow(ctx context.Context) (progressed bool, err error) {
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.RLock()
	from := c.rev
	c.mu.RUnlock()
	events, err := c.backend.Watch(watchCtx, c.prefix, storage.WatchOptions{Revision: from, Bookmarks: true, OmitPrevValue: true})
	if err != nil {
		return false, fmt.Errorf("watch %s from %d: %w", c.prefix, from, err)
	}
	for ev := range events {
		switch ev.Type {
		case storage.Error:
			return progressed, ev.Err
		case storage.Bookmark:
			c.advance(ev.Revision)
		default:
			c.apply(ev)
		}
		progressed = true
	}
	if err := ctx.Err(); err != nil {
		return progressed, err
	}
	return progressed, fmt.Errorf("watch %s: backend closed the watch", c.prefix)
}

// apply records one backend event and hands it to every matching watcher.
func (c *Cacher) apply(ev storage.Event) {
	if !keyMatcher(c.prefix)(ev.Key) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heard = true
	if ev.Revision < c.rev {
		return // already applied; one revision may carry several keys
	}
	// The backend watch omits previous values: the items have them.
	prev, known := c.items[ev.Key]
	if ev.Type == storage.Deleted {
		if !known { // never seen, so no watcher has it either
			c.setRevLocked(ev.Revision)
			return
		}
		ev.Value, ev.PrevValue, ev.PrevRevision = prev.Value, prev.Value, prev.Revision
		delete(c.items, ev.Key)
	} else {
		if ev.Type == storage.Modified && known {
			ev.PrevValue, ev.PrevRevision = prev.Value, prev.Revision
		}
		c.items[ev.Key] = storage.KeyValue{Key: ev.Key, Value: ev.Value, Revision: ev.Revision}
	}
	p := &ev
	c.ring.push(p)
	c.setRevLocked(ev.Revision)
	for _, w := range c.watchers {
		if ev.Revision > w.startRev && w.match(ev.Key) {
			c.queueLocked(w, p)
		}
	}
}

// advance moves the cache revision forward after a backend bookmark.
func (c *Cacher) advance(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heard = true
	if rev > c.rev {
		c.setRevLocked(rev)
	}
}

// setRevLocked sets the revision and wakes revision waiters.
func (c *Cacher) setRevLocked(rev int64) {
	c.rev = rev
	close(c.revCh)
	c.revCh = make(chan struct{})
}

// shutdown closes every watcher without an error; later calls go to the
// backend.
func (c *Cacher) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for _, w := range c.watchers {
		c.terminateLocked(w, nil)
	}
}

// progressLoop forwards coalesced progress requests to the backend.
func (c *Cacher) progressLoop(ctx context.Context) {
	requester, ok := c.backend.(progressRequester)
	if !ok {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.progressReq:
		}
		err := requester.RequestProgress(ctx)
		switch {
		case errors.Is(err, storage.ErrProgressUnsupported):
			c.opts.log.Info("backend cannot send watch progress on request; consistent lists will read the backend", "prefix", c.prefix, "err", err)
			c.progressOK.Store(false)
			return
		case err != nil && ctx.Err() == nil:
			c.opts.log.Debug("backend progress request failed", "prefix", c.prefix, "err", err)
		}
	}
}

// bookmarkLoop sends due bookmarks every bookmark interval and, when the
// backend was quiet and someone wants bookmarks, asks it for progress so the
// next bookmarks carry a fresh revision.
func (c *Cacher) bookmarkLoop(ctx context.Context) {
	ticker := time.NewTicker(c.opts.bookmarkInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if wanted, quiet := c.sendBookmarks(); wanted && quiet {
			c.requestProgress()
		}
	}
}
