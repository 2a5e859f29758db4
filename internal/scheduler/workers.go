package scheduler

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the binding workers: how long an idle one waits for the next
// binding cycle, and how many may wait at once.
const (
	workerIdleTimeout = 10 * time.Second
	maxIdleWorkers    = 32
)

// workerPool runs functions on goroutines it reuses. A binding cycle runs
// the whole in-process API handler chain on its goroutine: a fresh
// goroutine grows its small initial stack through that chain every time,
// a reused one has grown it already.
//
// The number of functions running at once is never bounded (a binding
// cycle may wait on Permit for long): Go hands fn to an idle worker if
// there is one and starts a new goroutine otherwise. A worker that found
// no work for idleTimeout, or that would be one idle worker too many,
// exits; all exit once stop was called.
type workerPool struct {
	// work passes a function to a worker waiting for one (unbuffered, so
	// a send succeeds only when a worker is idle).
	work        chan func()
	done        chan struct{}
	stopOnce    sync.Once
	idleTimeout time.Duration
	maxIdle     int32
	idle        atomic.Int32
	wg          sync.WaitGroup
	// started counts the goroutines ever started (tests).
	started atomic.Int64
}

func newWorkerPool(idleTimeout time.Duration, maxIdle int) *workerPool {
	return &workerPool{work: make(chan func()), done: make(chan struct{}),
		idleTimeout: idleTimeout, maxIdle: int32(max(maxIdle, 1))}
}

// Go runs fn on an idle worker or, if none is idle, on a new one. Safe for
// concurrent use; after stop fn still runs (on a goroutine that then
// exits).
func (p *workerPool) Go(fn func()) {
	select {
	case p.work <- fn:
		return
	default:
	}
	p.wg.Add(1)
	p.started.Add(1)
	go p.worker(fn)
}

// worker runs fn, then the functions handed to it while it is idle.
func (p *workerPool) worker(fn func()) {
	defer p.wg.Done()
	var timer *time.Timer
	for {
		fn()
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		if timer == nil {
			timer = time.NewTimer(p.idleTimeout)
		} else {
			timer.Reset(p.idleTimeout)
		}
		select {
		case fn = <-p.work:
			p.idle.Add(-1)
		case <-timer.C:
			p.idle.Add(-1)
			return
		case <-p.done:
			p.idle.Add(-1)
			timer.Stop()
			return
		}
	}
}

// stop makes idle workers exit, and busy ones once their function returns.
func (p *workerPool) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// wait returns once every worker has exited (after stop).
func (p *workerPool) wait() { p.wg.Wait() }
