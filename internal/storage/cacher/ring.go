package cacher

import (
	"sort"

	"github.com/skiffhq/skiff/internal/storage"
)

// eventRing holds the most recent events in revision order, overwriting the
// oldest when full.
type eventRing struct {
	buf   []*storage.Event
	start int // index of the oldest event
	n     int // number of events held
	// oldest is the revision after which the ring is complete: every event
	// with a greater revision, up to the cache revision, is held.
	oldest int64
}

func newEventRing(size int) *eventRing {
	return &eventRing{buf: make([]*storage.Event, size)}
}

// reset empties the ring; it is complete after rev.
func (r *eventRing) reset(rev int64) {
	clear(r.buf)
	r.start, r.n, r.oldest = 0, 0, rev
}

// push appends ev, evicting the oldest event when full.
func (r *eventRing) push(ev *storage.Event) {
	if r.n == len(r.buf) {
		evicted := r.buf[r.start]
		r.oldest = evicted.Revision
		r.buf[r.start] = ev
		r.start = (r.start + 1) % len(r.buf)
		return
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
}

// covers reports whether every event after rev is held.
func (r *eventRing) covers(rev int64) bool { return rev >= r.oldest }

// at returns the i-th oldest event.
func (r *eventRing) at(i int) *storage.Event { return r.buf[(r.start+i)%len(r.buf)] }

// since returns the held events with a revision greater than rev whose key
// matches, oldest first.
func (r *eventRing) since(rev int64, match func(string) bool) []*storage.Event {
	first := sort.Search(r.n, func(i int) bool { return r.at(i).Revision > rev })
	var out []*storage.Event
	for i := first; i < r.n; i++ {
		if ev := r.at(i); match(ev.Key) {
			out = append(out, ev)
		}
	}
	return out
}
