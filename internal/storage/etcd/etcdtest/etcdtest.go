// Package etcdtest starts real embedded etcd servers for tests of packages
// that build on storage.
package etcdtest

import (
	"context"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/storage/etcd"
)

// SeedKey is written once by Start, so revision 1 predates every store or
// cache a test builds afterwards.
const SeedKey = "/registry/etcdtest-seed"

// Start starts an embedded etcd in a temporary directory, sending watch
// progress notifications every 100ms, and stops it when the test ends.
func Start(t testing.TB) *etcd.Embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := etcd.StartEmbedded(ctx, t.TempDir(), etcd.WithProgressNotifyInterval(100*time.Millisecond))
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	if _, err := etcd.New(e.Client()).Create(ctx, SeedKey, []byte("seed")); err != nil {
		t.Fatalf("write seed key: %v", err)
	}
	return e
}
