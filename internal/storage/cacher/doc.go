// Package cacher is the watch cache: it keeps one resource's objects and its
// recent events in memory so that any number of watchers, and lists without
// a revision, cost one backend watch.
//
//	              backend (etcd Store)
//	  list at R, then      │  ▲  writes, Get, exact-revision and
//	  watch from R         ▼  │  paginated lists are delegated
//	┌───────────────── Cacher (one prefix) ───────────────────┐
//	│ follow loop ─► apply ─► items map, event ring, revision │
//	│                  │                                      │
//	│                  ▼ dispatch (never blocks)              │
//	│   bounded per-watcher buffers  ◄── List (latest, or     │
//	│      │      │      │               not older than R)    │
//	└──────┼──────┼──────┼────────────── served from items ───┘
//	       ▼      ▼      ▼
//	  one goroutine per watcher ─► caller's channel
//
// Glossary:
//   - revision: the backend revision the cache reflects; every event with a
//     revision at or below it has been applied.
//   - ring: the last N events; a watch starting inside it is replayed from
//     memory, an older one goes to the backend (which may answer compacted).
//   - dispatch: the follow loop hands each event to every matching watcher
//     without blocking; a watcher whose buffer is full is terminated with
//     ErrWatcherTooSlow so it never holds up the cache or writers (its
//     consumer resumes from its last revision).
//   - relist: after the backend compacted past the cache (or at start) the
//     cache lists again; existing watchers then end with an error wrapping
//     storage.ErrCompacted, since they may have missed events.
package cacher
