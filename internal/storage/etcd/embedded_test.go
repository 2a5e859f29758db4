package etcd

import (
	"context"
	"testing"
	"time"
)

func TestEmbeddedStartsAndServes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	e, err := StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Logf("embedded etcd ready in %v at %v", time.Since(start), e.Endpoints())
	defer e.Close()
	s := New(e.Client())
	rev, err := s.Create(ctx, "/registry/core/pods/default/a", []byte("x"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if rev <= 1 {
		t.Errorf("Create revision = %d, want > 1", rev)
	}
}
