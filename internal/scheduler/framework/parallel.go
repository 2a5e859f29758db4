package framework

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// defaultHelpAfter is how long the calling goroutine works through a loop
// alone before helpers join. Waking a helper costs a few microseconds on
// each side and the woken thread spins for more; shared data then moves
// between cores. Measured on the 2-core benchmark machine, filtering 500
// of 5,000 nodes and scoring them (~50 µs each) took more CPU and more
// time with two goroutines than with one, so only loops that run longer
// than this get help.
const defaultHelpAfter = 100 * time.Microsecond

// clockEvery is every how many ranges Chunks looks whether helpers are due.
const clockEvery = 8

// Parallelizer runs loops over nodes on up to a fixed number of
// goroutines.
type Parallelizer struct {
	workers int
	// helpAfter: helpers join a loop that has run this long.
	helpAfter time.Duration
}

// NewParallelizer returns a Parallelizer with up to n goroutines (at least
// 1).
func NewParallelizer(n int) Parallelizer {
	return Parallelizer{workers: max(n, 1), helpAfter: defaultHelpAfter}
}

// HelpAfter returns p with helpers joining a loop once it has run for d
// (0: from the start).
func (p Parallelizer) HelpAfter(d time.Duration) Parallelizer {
	p.helpAfter = d
	return p
}

// Until calls fn(i) for every i in [0, pieces) until ctx ends, on up to
// the configured number of goroutines — never more than GOMAXPROCS, as the
// work is CPU-bound; work is handed out in chunks.
func (p Parallelizer) Until(ctx context.Context, pieces int, fn func(i int)) {
	// Chunks of about √pieces keep handing out cheap while letting loops
	// that stop early (enough candidates) waste little work.
	chunk := int(math.Sqrt(float64(pieces)))
	p.Chunks(ctx, pieces, chunk, func(start, end int) bool {
		for i := start; i < end && ctx.Err() == nil; i++ {
			fn(i)
		}
		return true
	})
}

// Chunks splits [0, pieces) into consecutive ranges of chunk pieces and
// calls fn(start, end) for each. The calling goroutine works through them
// alone at first; a loop still running after the Parallelizer's
// HelpAfter duration gets helpers, up to the configured number of
// goroutines and never more than GOMAXPROCS or the number of ranges.
//
// Ranges are handed out in order. Once fn returns false or ctx ends, no
// further range is handed out; ranges already handed out run to their end
// (fn may stop early inside its own range). So when ctx did not end, the
// ranges fn was called for cover a prefix of [0, pieces). A loop that can
// never have helpers gets the whole [0, pieces) as one range.
func (p Parallelizer) Chunks(ctx context.Context, pieces, chunk int, fn func(start, end int) bool) {
	if pieces <= 0 || ctx.Err() != nil {
		return
	}
	chunk = max(chunk, 1)
	helpers := min(p.workers, runtime.GOMAXPROCS(0), (pieces+chunk-1)/chunk) - 1
	if helpers <= 0 {
		fn(0, pieces)
		return
	}
	r := &chunkRun{ctx: ctx, pieces: pieces, chunk: chunk, fn: fn}
	deadline := time.Now().Add(p.helpAfter)
	// Reading the clock costs ~100ns on some VMs: every few ranges only.
	for i := 0; r.runNext(); i++ {
		if helpers > 0 && i%clockEvery == 0 && !time.Now().Before(deadline) {
			r.helpers.Add(helpers)
			for range helpers {
				go r.help()
			}
			helpers = 0
		}
	}
	r.helpers.Wait()
}

// chunkRun is one Chunks call shared by its goroutines (one allocation).
type chunkRun struct {
	ctx           context.Context
	pieces, chunk int
	fn            func(start, end int) bool
	// next is the start of the next range to hand out; stop is set once
	// fn returned false.
	next    atomic.Int64
	stop    atomic.Bool
	helpers sync.WaitGroup
}

func (r *chunkRun) help() {
	defer r.helpers.Done()
	for r.runNext() {
	}
}

// runNext runs the next range; false when none is left or the run stopped.
func (r *chunkRun) runNext() bool {
	if r.stop.Load() || r.ctx.Err() != nil {
		return false
	}
	start := int(r.next.Add(int64(r.chunk))) - r.chunk
	if start >= r.pieces {
		return false
	}
	if !r.fn(start, min(start+r.chunk, r.pieces)) {
		r.stop.Store(true)
		return false
	}
	return true
}
