package pods

import "time"

// Back-off bounds, the kubelet's: 10 s doubling to 5 minutes; an entry not
// touched for twice the cap (a container that ran 10 minutes) starts over.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

// backoff tracks exponential delays by key. It is used by one worker
// goroutine only, so it has no lock.
type backoff struct {
	entries map[string]*backoffEntry
	now     func() time.Time
}

type backoffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

func newBackoff() *backoff {
	return &backoff{entries: map[string]*backoffEntry{}, now: time.Now}
}

// expired reports an entry unused for twice the maximum delay.
func (b *backoff) expired(e *backoffEntry) bool {
	return b.now().Sub(e.lastUpdate) > 2*backoffMax
}

// inBackoffSince reports whether key is still waiting out its delay counted
// from since, and the delay.
func (b *backoff) inBackoffSince(key string, since time.Time) (bool, time.Duration, time.Duration) {
	e, ok := b.entries[key]
	if !ok || b.expired(e) {
		return false, 0, 0
	}
	remaining := e.delay - b.now().Sub(since)
	return remaining > 0, e.delay, remaining
}

// next records an attempt for key: the first (or after expiry) sets the
// initial delay, later ones double it up to the maximum.
func (b *backoff) next(key string) {
	e, ok := b.entries[key]
	if !ok || b.expired(e) {
		b.entries[key] = &backoffEntry{delay: backoffInitial, lastUpdate: b.now()}
		return
	}
	e.delay *= 2
	if e.delay > backoffMax {
		e.delay = backoffMax
	}
	e.lastUpdate = b.now()
}

// reset forgets key.
func (b *backoff) reset(key string) { delete(b.entries, key) }
