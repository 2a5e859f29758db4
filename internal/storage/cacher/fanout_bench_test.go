package cacher

import (
	"fmt"
	"sync"
	"testing"

	"github.com/skiffhq/skiff/internal/storage"
)

// BenchmarkCacherWatchers measures one write fanned out to 1,000 cache
// watchers: each iteration updates one key and waits until every watcher
// received the change. It also reports the backend watches used (want 1).
func BenchmarkCacherWatchers(b *testing.B) {
	const watchers = 1000
	const key = "/registry/core/pods/default/web-0"
	backend := newCountingBackend(b)
	c := startCacher(b, backend, "/registry/core/pods/")
	ctx := b.Context()
	rev, err := c.Create(ctx, key, []byte("v0"))
	if err != nil {
		b.Fatalf("Create: %v", err)
	}
	var received sync.WaitGroup
	errs := make(chan error, watchers)
	for i := range watchers {
		ch, err := c.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{Revision: rev})
		if err != nil {
			b.Fatalf("Watch %d: %v", i, err)
		}
		go func() {
			for ev := range ch {
				switch ev.Type {
				case storage.Modified:
					received.Done()
				case storage.Error:
					errs <- fmt.Errorf("watcher %d: %w", i, ev.Err)
					return
				}
			}
		}()
	}
	b.ResetTimer()
	for i := range b.N {
		received.Add(watchers)
		if rev, err = c.Update(ctx, key, []byte(fmt.Sprint(i)), rev); err != nil {
			b.Fatalf("Update: %v", err)
		}
		allReceived := make(chan struct{})
		go func() { received.Wait(); close(allReceived) }()
		select {
		case <-allReceived:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(backend.watches.Load()), "backend-watches")
	b.ReportMetric(float64(watchers), "watchers")
}
