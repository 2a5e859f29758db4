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
	if pieces <= 0 {
		return
	}
	workers := min(p.workers, pieces, runtime.GOMAXPROCS(0))
	if workers == 1 {
		for i := 0; i < pieces && ctx.Err() == nil; i++ {
			fn(i)
		}
		return
	}
	// Chunks of about √pieces keep handing out cheap while letting loops
	// that stop early (enough feasible nodes) waste little work.
	chunk := max(1, min(int(math.Sqrt(float64(pieces))), pieces/workers+1))
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= pieces {
					return
				}
				for i := start; i < min(start+chunk, pieces); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}
