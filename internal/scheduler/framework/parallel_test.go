package framework

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestChunksHandOutAPrefix checks what filtering relies on: Chunks calls
// fn for disjoint ranges of at most chunk pieces that, once fn asks to
// stop, still cover a prefix of [0, pieces) with every range run to its
// end; without a stop they cover everything; one goroutine gets it all
// as one range.
func TestChunksHandOutAPrefix(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	tests := []struct {
		name                   string
		workers, pieces, chunk int
		// stopAfter: fn returns false from its stopAfter-th call on (0:
		// never).
		stopAfter int
	}{
		{name: "one worker", workers: 1, pieces: 100, chunk: 7},
		{name: "one worker stops", workers: 1, pieces: 100, chunk: 7, stopAfter: 1},
		{name: "four workers", workers: 4, pieces: 1000, chunk: 16},
		{name: "four workers stop early", workers: 4, pieces: 1000, chunk: 16, stopAfter: 3},
		{name: "more workers than ranges", workers: 16, pieces: 20, chunk: 8},
		{name: "chunk larger than pieces", workers: 4, pieces: 5, chunk: 64},
		{name: "empty", workers: 4, pieces: 0, chunk: 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 50 {
				var mu sync.Mutex
				var ranges [][2]int
				calls := 0
				NewParallelizer(tc.workers).HelpAfter(0).Chunks(context.Background(), tc.pieces, tc.chunk, func(lo, hi int) bool {
					mu.Lock()
					ranges = append(ranges, [2]int{lo, hi})
					calls++
					stop := tc.stopAfter > 0 && calls >= tc.stopAfter
					mu.Unlock()
					return !stop
				})
				slices.SortFunc(ranges, func(a, b [2]int) int { return a[0] - b[0] })
				end := 0
				for _, r := range ranges {
					if r[0] != end || r[1] <= r[0] || r[1] > tc.pieces {
						t.Fatalf("round %d: ranges %v are not consecutive within [0, %d)", round, ranges, tc.pieces)
					}
					if tc.workers > 1 && r[1]-r[0] > tc.chunk {
						t.Fatalf("round %d: range %v longer than the chunk %d", round, r, tc.chunk)
					}
					end = r[1]
				}
				if tc.stopAfter == 0 && end != tc.pieces {
					t.Fatalf("round %d: ranges %v end at %d, want %d", round, ranges, end, tc.pieces)
				}
				if tc.workers == 1 && tc.pieces > 0 && fmt.Sprint(ranges) != fmt.Sprint([][2]int{{0, tc.pieces}}) {
					t.Fatalf("round %d: one worker got %v, want one range [0 %d]", round, ranges, tc.pieces)
				}
				if tc.stopAfter > 0 && len(ranges) >= tc.stopAfter+tc.workers {
					t.Fatalf("round %d: %d ranges after a stop at call %d with %d workers", round, len(ranges), tc.stopAfter, tc.workers)
				}
			}
		})
	}
}

// TestChunksHelpLongLoopsOnly: a loop that ends before the help-after
// duration runs on the calling goroutine alone; one that runs longer gets
// helpers.
func TestChunksHelpLongLoopsOnly(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	goroutines := func(p Parallelizer, pieceTime time.Duration) int {
		var mu sync.Mutex
		seen := map[uint64]bool{}
		p.Chunks(context.Background(), 64, 1, func(lo, hi int) bool {
			mu.Lock()
			seen[goroutineID()] = true
			mu.Unlock()
			time.Sleep(pieceTime)
			return true
		})
		return len(seen)
	}
	if n := goroutines(NewParallelizer(4).HelpAfter(time.Hour), 0); n != 1 {
		t.Errorf("a short loop ran on %d goroutines, want 1", n)
	}
	if n := goroutines(NewParallelizer(4).HelpAfter(time.Millisecond), time.Millisecond); n < 2 {
		t.Errorf("a long loop ran on %d goroutine(s), want helpers", n)
	}
}

// goroutineID is the calling goroutine's number, from its stack header.
func goroutineID() uint64 {
	buf := make([]byte, 32)
	buf = buf[:runtime.Stack(buf, false)]
	var id uint64
	fmt.Sscanf(string(buf), "goroutine %d ", &id)
	return id
}

// TestChunksEndedContext: nothing runs once the context has ended.
func TestChunksEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	NewParallelizer(4).Chunks(ctx, 100, 10, func(int, int) bool {
		t.Error("fn called after the context ended")
		return true
	})
}
