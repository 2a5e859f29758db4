package controller

import (
	"sync"
	"time"
)

// ExpectationsTTL is how long unmet expectations hold a controller back; a
// create or delete whose event never arrives (a lost watch) must not block
// the controller forever.
const ExpectationsTTL = 5 * time.Minute

// Expectations records, per controller key, the creates and deletes the
// controller issued but has not yet observed in its informer cache. A
// controller only recomputes counts when its expectations are satisfied, so
// a lagging cache cannot make it create or delete twice.
type Expectations struct {
	now func() time.Time

	// mu guards byKey.
	mu    sync.Mutex
	byKey map[string]*expectation
}

type expectation struct {
	adds int
	// dels holds the UIDs of dependents being deleted.
	dels map[string]struct{}
	set  time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{now: time.Now, byKey: map[string]*expectation{}}
}

// Satisfied reports whether key has nothing outstanding (or its
// expectations expired).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.byKey[key]
	if x == nil {
		return true
	}
	if x.adds <= 0 && len(x.dels) == 0 {
		return true
	}
	return e.now().Sub(x.set) > ExpectationsTTL
}

// ExpectCreations replaces key's expectations with n creates.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byKey[key] = &expectation{adds: n, set: e.now()}
}

// ExpectDeletions replaces key's expectations with deletes of the given UIDs.
func (e *Expectations) ExpectDeletions(key string, uids []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{dels: make(map[string]struct{}, len(uids)), set: e.now()}
	for _, u := range uids {
		x.dels[u] = struct{}{}
	}
	e.byKey[key] = x
}

// CreationObserved lowers key's outstanding creates by one (a create was
// seen, or failed and will never be seen).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.byKey[key]; x != nil {
		x.adds--
	}
}

// DeletionObserved marks the delete of uid as seen (or failed).
func (e *Expectations) DeletionObserved(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.byKey[key]; x != nil {
		delete(x.dels, uid)
	}
}

// Delete forgets key (its controller object is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byKey, key)
}
