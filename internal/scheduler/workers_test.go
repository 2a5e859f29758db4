package scheduler

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveWorkers counts the goroutines running workerPool.worker.
func liveWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "scheduler.(*workerPool).worker(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (a hang, not a slow machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func stopPool(t *testing.T, p *workerPool) {
	t.Helper()
	p.stop()
	p.wait()
	if n := liveWorkers(); n != 0 {
		t.Fatalf("%d workers still running after stop and wait", n)
	}
}

// TestWorkerPoolReusesIdleWorker: functions handed over one after the
// other, each once the last is done, all run on the first goroutine.
func TestWorkerPoolReusesIdleWorker(t *testing.T) {
	p := newWorkerPool(time.Hour, 4)
	defer stopPool(t, p)
	ran := 0
	for i := range 100 {
		done := make(chan struct{})
		p.Go(func() { ran++; close(done) })
		<-done
		waitFor(t, "worker idle", func() bool { return p.idle.Load() == 1 })
		if got := p.started.Load(); got != 1 {
			t.Fatalf("after %d functions: %d goroutines started, want 1", i+1, got)
		}
	}
	if ran != 100 {
		t.Fatalf("ran %d functions, want 100", ran)
	}
}

// TestWorkerPoolNeverBoundsConcurrency: functions that block until all
// of them run all start, far more of them than maxIdle.
func TestWorkerPoolNeverBoundsConcurrency(t *testing.T) {
	const n = 200
	p := newWorkerPool(time.Hour, 2)
	defer stopPool(t, p)
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	for range n {
		p.Go(func() {
			started.Done()
			<-release
		})
	}
	allStarted := make(chan struct{})
	go func() { started.Wait(); close(allStarted) }()
	select {
	case <-allStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("not all blocking functions started: the pool bounds concurrency")
	}
	close(release)
	// Once they return, at most maxIdle workers stay.
	waitFor(t, "surplus workers to exit", func() bool { return liveWorkers() == 2 })
	if got := p.idle.Load(); got != 2 {
		t.Fatalf("idle = %d, want 2", got)
	}
}

// TestWorkerPoolIdleWorkersExit: a worker with nothing to do exits after
// the idle timeout, and the next function starts a new one.
func TestWorkerPoolIdleWorkersExit(t *testing.T) {
	p := newWorkerPool(time.Millisecond, 4)
	defer stopPool(t, p)
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	waitFor(t, "idle worker to exit", func() bool { return liveWorkers() == 0 })
	done = make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	if got := p.started.Load(); got != 2 {
		t.Fatalf("%d goroutines started, want 2", got)
	}
}

// TestWorkerPoolStopWaitsForBusyWorkers: stop makes idle workers exit at
// once and busy ones when their function returns; wait waits for both;
// a function handed over after stop still runs.
func TestWorkerPoolStopWaitsForBusyWorkers(t *testing.T) {
	p := newWorkerPool(time.Hour, 8)
	idleDone := make(chan struct{})
	p.Go(func() { close(idleDone) })
	<-idleDone
	waitFor(t, "worker idle", func() bool { return p.idle.Load() == 1 })
	release, busy := make(chan struct{}), make(chan struct{})
	p.Go(func() { <-busy })    // takes the idle worker
	p.Go(func() { <-release }) // a second one
	p.stop()
	waited := make(chan struct{})
	go func() { p.wait(); close(waited) }()
	close(busy)
	select {
	case <-waited:
		t.Fatal("wait returned while a function still runs")
	default:
	}
	close(release)
	<-waited
	after := make(chan struct{})
	p.Go(func() { close(after) })
	<-after
	p.wait()
	if n := liveWorkers(); n != 0 {
		t.Fatalf("%d workers still running", n)
	}
}

// deepCall uses about depth KiB of stack, like the API handler chain a
// binding cycle runs in-process.
//
//go:noinline
func deepCall(depth int) int {
	var pad [1024]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		return int(pad[0])
	}
	return deepCall(depth-1) + int(pad[depth%len(pad)])
}

// BenchmarkBindingGoroutines compares a fresh goroutine per function with
// the pool, for a function that needs a 64 KiB stack.
func BenchmarkBindingGoroutines(b *testing.B) {
	run := func(b *testing.B, spawn func(func())) {
		var wg sync.WaitGroup
		b.ReportAllocs()
		for range b.N {
			wg.Add(1)
			spawn(func() { deepCall(64); wg.Done() })
			wg.Wait()
		}
	}
	b.Run("go", func(b *testing.B) { run(b, func(fn func()) { go fn() }) })
	b.Run("pool", func(b *testing.B) {
		p := newWorkerPool(time.Hour, maxIdleWorkers)
		defer func() { p.stop(); p.wait() }()
		run(b, p.Go)
	})
}
