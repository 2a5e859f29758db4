package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
)

// WithTTL returns a view of the store whose writes expire ttl after they
// were made (events). Keys share etcd leases granted for a short window, so
// a burst of writes costs one lease grant.
func (s *Store) WithTTL(ttl time.Duration) storage.Interface {
	return &Store{client: s.client, metrics: s.metrics, progress: s.progress,
		leases: &leaseManager{client: s.client, ttl: ttl, reuse: min(time.Minute, ttl/10)}}
}

// leaseManager hands out leases that live at least ttl from now.
type leaseManager struct {
	client *clientv3.Client
	ttl    time.Duration
	reuse  time.Duration

	mu sync.Mutex
	// id and until are guarded by mu: the current lease and the time up to
	// which it may be handed out.
	id    clientv3.LeaseID
	until time.Time
}

// lease returns a lease ID expiring no sooner than ttl from now.
func (m *leaseManager) lease(ctx context.Context) (clientv3.LeaseID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.id != 0 && now.Before(m.until) {
		return m.id, nil
	}
	resp, err := m.client.Grant(ctx, int64((m.ttl+m.reuse)/time.Second)+1)
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", mapError(err))
	}
	m.id, m.until = resp.ID, now.Add(m.reuse)
	return m.id, nil
}

// putOptions attaches the current lease when the store has a TTL.
func (s *Store) putOptions(ctx context.Context) ([]clientv3.OpOption, error) {
	if s.leases == nil {
		return nil, nil
	}
	id, err := s.leases.lease(ctx)
	if err != nil {
		return nil, err
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}, nil
}
