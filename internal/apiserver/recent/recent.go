// Package recent keeps the values last added by key, up to a fixed count:
// a memo for goroutines that work through the same stream of items, such
// as the watchers of one resource, so that the first does the work and the
// others reuse it.
package recent

import "sync"

// Memo holds up to a fixed number of values by key, forgetting the oldest
// added first. Safe for concurrent use.
type Memo[K comparable, V any] struct {
	size int
	// mu guards vals, ring and next (allocated on the first Add); ring
	// holds the keys of vals in the order they were added, next is the
	// slot of the next one.
	mu   sync.Mutex
	vals map[K]V
	ring []K
	next int
}

// New returns a Memo holding up to size values (at least one).
func New[K comparable, V any](size int) *Memo[K, V] {
	return &Memo[K, V]{size: max(size, 1)}
}

// Get returns the value of k, if it is still held.
func (m *Memo[K, V]) Get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[k]
	return v, ok
}

// Add holds v under k, forgetting the oldest value when full; a key
// already held keeps its first value.
func (m *Memo[K, V]) Add(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.vals[k]; ok {
		return
	}
	if m.ring == nil {
		m.vals, m.ring = make(map[K]V, m.size), make([]K, m.size)
	}
	if len(m.vals) == len(m.ring) {
		delete(m.vals, m.ring[m.next])
	}
	m.ring[m.next] = k
	m.next = (m.next + 1) % len(m.ring)
	m.vals[k] = v
}
