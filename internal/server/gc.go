package server

import "runtime/debug"

// Garbage collector settings of the server process, unless the GOGC and
// GOMEMLIMIT environment variables choose others.
//
// The server's live heap is mostly decoded objects: the watch cache, the
// scheduler's and the controllers' informer caches. Collecting at twice
// the live heap (Go's default, GOGC=100) spent about a fifth of the
// server's CPU at 30,000 pods while pods were being created and scheduled;
// collecting at three times (200) halves that, for about 40% more peak
// memory (docs/benchmarks.md "Scheduler"). The soft limit keeps that extra
// headroom from crowding a small machine: near half of its memory the
// collector runs as often as it must.
const (
	serverGCPercent       = 200
	memoryLimitOfPhysical = 2 // the soft limit is 1/2 of physical memory
)

// TuneGC applies the server's collector settings to this process;
// getenv reads the environment. `skiff server` calls it before Run.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		if total := physicalMemory(); total > 0 {
			debug.SetMemoryLimit(int64(total / memoryLimitOfPhysical))
		}
	}
}
