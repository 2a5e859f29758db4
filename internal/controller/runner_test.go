package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// recordingReconciler counts calls per key and runs a behaviour.
type recordingReconciler struct {
	mu     sync.Mutex
	calls  map[string]int
	active map[string]int
	maxPar int
	do     func(key string, call int) (Result, error)
}

func (r *recordingReconciler) Reconcile(_ context.Context, key string) (Result, error) {
	r.mu.Lock()
	r.calls[key]++
	call := r.calls[key]
	r.active[key]++
	r.maxPar = max(r.maxPar, r.active[key])
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active[key]--
		r.mu.Unlock()
	}()
	return r.do(key, call)
}

func (r *recordingReconciler) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunner(t *testing.T) {
	fast := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name      string
		do        func(key string, call int) (Result, error)
		wantCalls int
	}{
		{name: "success once", do: func(string, int) (Result, error) { return Result{}, nil }, wantCalls: 1},
		{name: "error retried until success", do: func(_ string, call int) (Result, error) {
			if call < 3 {
				return Result{}, errors.New("boom")
			}
			return Result{}, nil
		}, wantCalls: 3},
		{name: "panic recovered and retried", do: func(_ string, call int) (Result, error) {
			if call == 1 {
				panic("bad")
			}
			return Result{}, nil
		}, wantCalls: 2},
		{name: "requeue after", do: func(_ string, call int) (Result, error) {
			if call == 1 {
				return Result{RequeueAfter: 5 * time.Millisecond}, nil
			}
			return Result{}, nil
		}, wantCalls: 2},
		{name: "retry sentinel", do: func(_ string, call int) (Result, error) {
			if call == 1 {
				return Result{}, fmt.Errorf("cache lags: %w", ErrRetry)
			}
			return Result{}, nil
		}, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingReconciler{calls: map[string]int{}, active: map[string]int{}, do: tc.do}
			r := NewRunner("test", rec, RunnerOptions{Workers: 4, Log: quiet, RateLimiter: fast})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- r.Run(ctx) }()
			r.Enqueue("a")
			waitFor(t, "calls", func() bool { return rec.count("a") >= tc.wantCalls })
			// Settled: no further calls once the queue is empty.
			waitFor(t, "empty queue", func() bool { return r.Len() == 0 })
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := rec.count("a"); got != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestRunnerOneKeyAtATime(t *testing.T) {
	var inflight atomic.Int32
	rec := &recordingReconciler{calls: map[string]int{}, active: map[string]int{}, do: func(string, int) (Result, error) {
		inflight.Add(1)
		time.Sleep(time.Millisecond)
		inflight.Add(-1)
		return Result{}, nil
	}}
	r := NewRunner("test", rec, RunnerOptions{Workers: 8, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for range 200 {
		r.Enqueue("same")
		r.Enqueue("other")
	}
	waitFor(t, "queue drained", func() bool { return r.Len() == 0 && inflight.Load() == 0 })
	cancel()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.maxPar != 1 {
		t.Fatalf("a key was reconciled by %d workers at once", rec.maxPar)
	}
}

func TestSlowStart(t *testing.T) {
	tests := []struct {
		name       string
		count      int
		failAt     int // call number (1-based) that fails; 0 never
		wantCalled int
		wantErr    bool
	}{
		{name: "all succeed", count: 10, wantCalled: 10},
		{name: "first call fails", count: 10, failAt: 1, wantCalled: 1, wantErr: true},
		{name: "failure in the third batch stops after it", count: 100, failAt: 5, wantCalled: 7, wantErr: true},
		{name: "zero", count: 0, wantCalled: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			called, err := SlowStart(tc.count, func() error {
				if int(n.Add(1)) == tc.failAt {
					return errors.New("refused")
				}
				return nil
			})
			if called != tc.wantCalled || (err != nil) != tc.wantErr {
				t.Fatalf("called %d err %v, want %d err %v", called, err, tc.wantCalled, tc.wantErr)
			}
		})
	}
}

func TestExpectations(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewExpectations()
	e.now = func() time.Time { return now }
	if !e.Satisfied("rs") {
		t.Fatal("no record: want satisfied")
	}
	e.ExpectCreations("rs", 2)
	e.CreationObserved("rs")
	if e.Satisfied("rs") {
		t.Fatal("one create outstanding: want unsatisfied")
	}
	e.CreationObserved("rs")
	if !e.Satisfied("rs") {
		t.Fatal("all creates seen: want satisfied")
	}
	e.ExpectDeletions("rs", []string{"u1", "u2"})
	e.DeletionObserved("rs", "u1")
	e.DeletionObserved("rs", "u1") // seen twice (update then delete)
	if e.Satisfied("rs") {
		t.Fatal("one delete outstanding: want unsatisfied")
	}
	now = now.Add(ExpectationsTTL + time.Second)
	if !e.Satisfied("rs") {
		t.Fatal("expired: want satisfied")
	}
}
