package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/storage/etcd/etcdtest"
)

func TestWithTTLExpiresKeys(t *testing.T) {
	e := etcdtest.Start(t)
	s := etcd.New(e.Client())
	ttl := s.WithTTL(time.Second)
	ctx := context.Background()
	if _, err := ttl.Create(ctx, "/registry/test/ttl/a", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "/registry/test/ttl/keep", []byte("v")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Get(ctx, "/registry/test/ttl/a")
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key with a 1s TTL still there after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "/registry/test/ttl/keep"); err != nil {
		t.Fatalf("key without TTL expired: %v", err)
	}
}
