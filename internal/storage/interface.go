// Package storage is skiff's versioned object store: an etcd backend, a watch
// cache in front of it, and the small interface the API server depends on.
//
// Values are opaque bytes (the API server encodes objects); every key carries the
// etcd modification revision, which the API server exposes as resourceVersion.
package storage

import (
	"context"
	"errors"
)

// Sentinel errors returned by every Interface implementation.
var (
	ErrNotFound  = errors.New("storage: key not found")
	ErrKeyExists = errors.New("storage: key already exists")
	// ErrConflict means a compare-and-swap saw a different revision.
	ErrConflict = errors.New("storage: revision conflict")
	// ErrCompacted means the requested revision is older than the oldest retained one.
	ErrCompacted = errors.New("storage: revision compacted")
	// ErrInvalidContinue means a continue token could not be decoded.
	ErrInvalidContinue = errors.New("storage: invalid continue token")
	// ErrTooLargeRevision means the requested revision is newer than the store's.
	ErrTooLargeRevision = errors.New("storage: revision is in the future")
	// ErrWatchDropped ends a watch the store stopped serving (its consumer
	// fell behind) although nothing was lost: the consumer resumes with a
	// new watch from the last revision it saw.
	ErrWatchDropped = errors.New("storage: watch dropped, resume from the last revision")
)

// KeyValue is one stored value with its modification revision.
type KeyValue struct {
	Key      string
	Value    []byte
	Revision int64
}

// EventType says what happened to a key.
type EventType int

// Event types. Bookmark carries only a Revision; Error carries only Err and is
// always the last event before the channel closes.
const (
	Added EventType = iota
	Modified
	Deleted
	Bookmark
	Error
)

// Event is one change seen by a watch.
type Event struct {
	Type EventType
	Key  string
	// Value is the new value; for Deleted it is the last value before deletion.
	Value []byte
	// PrevValue is the value before this change when known (Modified, Deleted).
	PrevValue []byte
	Revision  int64
	// PrevRevision is the modification revision of PrevValue when known,
	// else 0: a consumer that decoded that value before can reuse it.
	PrevRevision int64
	Err          error
}

// Match says how ListOptions.Revision is interpreted.
type Match int

const (
	// MatchLatest ignores Revision and serves the newest data (a consistent read).
	MatchLatest Match = iota
	// MatchNotOlderThan serves data at least as new as Revision (0 = anything cached).
	MatchNotOlderThan
	// MatchExact serves data exactly at Revision.
	MatchExact
)

// ListOptions selects a page of a prefix.
type ListOptions struct {
	Revision int64
	Match    Match
	// Limit is the page size; 0 means everything.
	Limit int64
	// Continue is the token from a previous page; it fixes the revision.
	Continue string
}

// ListResult is one page of a list.
type ListResult struct {
	Items []KeyValue
	// Revision is the store revision the page was read at.
	Revision int64
	// Continue is set when more items remain.
	Continue string
	// RemainingCount is the number of items after this page when known.
	RemainingCount *int64
}

// WatchOptions tunes a watch.
type WatchOptions struct {
	// Revision: events with a revision strictly greater are delivered. 0 means
	// "from now on".
	Revision int64
	// Bookmarks asks for periodic Bookmark events carrying the current revision.
	Bookmarks bool
	// OmitPrevValue is for a consumer that keeps every key's value itself
	// (the watch cache): Modified events then carry no PrevValue and Deleted
	// events no Value, which spares the backend a read per event.
	OmitPrevValue bool
}

// Interface is the contract every backend and the watch cache satisfy.
// Keys are absolute ("/registry/core/pods/default/web-0"); prefixes end in "/".
type Interface interface {
	// Create stores value under key if absent and returns its revision.
	Create(ctx context.Context, key string, value []byte) (int64, error)
	// Get returns the current value of key.
	Get(ctx context.Context, key string) (KeyValue, error)
	// List returns values under prefix, sorted by key.
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)
	// Update replaces key's value if its revision is still expectedRevision.
	Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error)
	// Delete removes key if its revision is expectedRevision (0 = any) and
	// returns the deleted value with the deletion revision.
	Delete(ctx context.Context, key string, expectedRevision int64) (KeyValue, error)
	// Watch streams changes under prefix (or of one key when prefix has no
	// trailing "/"), in revision order, until ctx ends or an Error event.
	Watch(ctx context.Context, prefix string, opts WatchOptions) (<-chan Event, error)
	// CurrentRevision returns the store's newest revision.
	CurrentRevision(ctx context.Context) (int64, error)
}
