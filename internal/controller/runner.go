package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Result tells the runner what to do with a key after a successful
// reconcile.
type Result struct {
	// RequeueAfter, when positive, reconciles the key again after this long
	// (for time-based conditions such as minReadySeconds or a progress
	// deadline).
	RequeueAfter time.Duration
}

// ErrRetry is returned (wrapped) by a reconciler that wants its key retried
// with backoff for an expected reason, such as waiting for a cache; it is
// not logged as a failure.
var ErrRetry = errors.New("retry later")

// Reconciler converges the object named by key towards its desired state.
// It reads current state from informers and must not depend on having seen
// any particular event.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// ReconcilerFunc adapts a function to Reconciler.
type ReconcilerFunc func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, key string) (Result, error) {
	return f(ctx, key)
}

// Enqueuer accepts keys to reconcile.
type Enqueuer interface {
	Enqueue(key string)
	EnqueueAfter(key string, d time.Duration)
}

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// Workers is the number of keys reconciled concurrently; default 1.
	Workers int
	// Log receives reconcile failures and recovered panics; default
	// slog.Default() tagged with the runner's name.
	Log *slog.Logger
	// RateLimiter paces requeues after errors; default client-go's
	// controller rate limiter (5ms doubling to 1000s per key, 10 qps overall).
	RateLimiter workqueue.TypedRateLimiter[string]
}

// Runner feeds keys from a rate-limited work queue to a Reconciler with N
// workers; the queue guarantees one key is never reconciled by two workers
// at once.
type Runner struct {
	name    string
	rec     Reconciler
	queue   workqueue.TypedRateLimitingInterface[string]
	workers int
	log     *slog.Logger

	// mu guards synced.
	mu     sync.Mutex
	synced []cache.InformerSynced
}

// NewRunner returns a runner named name (for logs) that drives rec.
func NewRunner(name string, rec Reconciler, o RunnerOptions) *Runner {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Log == nil {
		o.Log = slog.Default().With("controller", name)
	}
	if o.RateLimiter == nil {
		o.RateLimiter = workqueue.DefaultTypedControllerRateLimiter[string]()
	}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(o.RateLimiter,
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
	return &Runner{name: name, rec: rec, queue: q, workers: o.Workers, log: o.Log}
}

// WaitFor adds informers whose caches must be synced before workers start.
func (r *Runner) WaitFor(synced ...cache.InformerSynced) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.synced = append(r.synced, synced...)
}

// Enqueue schedules key for reconciliation.
func (r *Runner) Enqueue(key string) { r.queue.Add(key) }

// EnqueueAfter schedules key for reconciliation after d.
func (r *Runner) EnqueueAfter(key string, d time.Duration) { r.queue.AddAfter(key, d) }

// EnqueueRateLimited schedules key after its current backoff.
func (r *Runner) EnqueueRateLimited(key string) { r.queue.AddRateLimited(key) }

// Len is the number of keys waiting.
func (r *Runner) Len() int { return r.queue.Len() }

// Run waits for the informer caches, runs the workers and blocks until ctx
// ends; then it shuts the queue down and waits for the workers to return.
func (r *Runner) Run(ctx context.Context) error {
	defer r.queue.ShutDown()
	r.mu.Lock()
	synced := r.synced
	r.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: caches did not sync", r.name)
	}
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	r.queue.ShutDown()
	wg.Wait()
	return nil
}

// next reconciles one key; it reports false when the queue is shut down.
func (r *Runner) next(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if ctx.Err() != nil {
		return false
	}
	res, err := r.reconcile(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			r.logError(key, err)
		}
		r.queue.AddRateLimited(key)
	case res.RequeueAfter > 0:
		r.queue.Forget(key)
		r.queue.AddAfter(key, res.RequeueAfter)
	default:
		r.queue.Forget(key)
	}
	return true
}

// reconcile calls the reconciler and turns a panic into an error.
func (r *Runner) reconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("reconcile panicked", "key", key, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return r.rec.Reconcile(ctx, key)
}

func (r *Runner) logError(key string, err error) {
	// Conflicts and vanished objects are the normal cost of optimistic
	// concurrency on a stale cache; they are retried at once.
	if errors.Is(err, ErrRetry) || apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) {
		r.log.Debug("reconcile retried", "key", key, "err", err)
		return
	}
	r.log.Warn("reconcile failed", "key", key, "err", err)
}
