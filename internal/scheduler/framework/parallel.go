package framework

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallelizer runs loops over nodes on a fixed number of goroutines.
type Parallelizer struct {
	workers int
}

// NewParallelizer returns a Parallelizer with n goroutines (at least 1).
func NewParallelizer(n int) Parallelizer { return Parallelizer{workers: max(n, 1)} }

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
// calls fn(start, end) for each, on up to the configured number of
// goroutines and never more than GOMAXPROCS or the number of ranges. The
// calling goroutine is one of them: when the other cores are busy the
// helpers start late and take what is left, so a loaded machine runs the
// loop mostly inline instead of paying for hand-offs.
//
// Ranges are handed out in order. Once fn returns false or ctx ends, no
// further range is handed out; ranges already handed out run to their end
// (fn may stop early inside its own range). So when ctx did not end, the
// ranges fn was called for cover a prefix of [0, pieces). One goroutine
// doing all the work gets the whole [0, pieces) as one range.
func (p Parallelizer) Chunks(ctx context.Context, pieces, chunk int, fn func(start, end int) bool) {
	if pieces <= 0 || ctx.Err() != nil {
		return
	}
	chunk = max(chunk, 1)
	workers := min(p.workers, runtime.GOMAXPROCS(0), (pieces+chunk-1)/chunk)
	if workers <= 1 {
		fn(0, pieces)
		return
	}
	r := &chunkRun{ctx: ctx, pieces: pieces, chunk: chunk, fn: fn}
	r.helpers.Add(workers - 1)
	for range workers - 1 {
		go r.help()
	}
	r.work()
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
	r.work()
}

// work runs ranges until none is left or the run stops.
func (r *chunkRun) work() {
	for !r.stop.Load() && r.ctx.Err() == nil {
		start := int(r.next.Add(int64(r.chunk))) - r.chunk
		if start >= r.pieces {
			return
		}
		if !r.fn(start, min(start+r.chunk, r.pieces)) {
			r.stop.Store(true)
			return
		}
	}
}
