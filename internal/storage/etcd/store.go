// Package etcd implements storage.Interface on an etcd v3 cluster, runs an
// embedded single-member etcd for the default one-binary setup, and compacts
// old revisions.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
)

// revisionProbeKey is the key CurrentRevision reads (count only) to learn the
// store revision; it need not exist.
const revisionProbeKey = "/registry/health"

// Store is storage.Interface on an etcd v3 client. It is safe for concurrent use.
type Store struct {
	client   *clientv3.Client
	metrics  *Metrics
	progress *progressSupport
	// leases, when set, makes every write expire (see WithTTL).
	leases *leaseManager
}

// Option configures a Store.
type Option func(*Store)

// WithMetrics records request latencies in m.
func WithMetrics(m *Metrics) Option {
	return func(s *Store) { s.metrics = m }
}

// New returns a Store on client. The caller keeps ownership of client.
func New(client *clientv3.Client, opts ...Option) *Store {
	s := &Store{client: client, progress: &progressSupport{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

var _ storage.Interface = (*Store)(nil)

// Create stores value under key if absent and returns its revision.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	defer s.metrics.observe("create", key, time.Now())
	putOpts, err := s.putOptions(ctx)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value), putOpts...)).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, mapError(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("create %s: %w", key, storage.ErrKeyExists)
	}
	return resp.Header.Revision, nil
}

// Get returns the current value of key.
func (s *Store) Get(ctx context.Context, key string) (storage.KeyValue, error) {
	defer s.metrics.observe("get", key, time.Now())
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return storage.KeyValue{}, fmt.Errorf("get %s: %w", key, mapError(err))
	}
	if len(resp.Kvs) == 0 {
		return storage.KeyValue{}, fmt.Errorf("get %s: %w", key, storage.ErrNotFound)
	}
	kv := resp.Kvs[0]
	return storage.KeyValue{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision}, nil
}

// Update replaces key's value if its revision is still expectedRevision.
// An expectedRevision of 0 updates unconditionally, but the key must exist.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	defer s.metrics.observe("update", key, time.Now())
	putOpts, err := s.putOptions(ctx)
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(revisionIs(key, expectedRevision)).
		Then(clientv3.OpPut(key, string(value), putOpts...)).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", key, mapError(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("update %s at revision %d: %w", key, expectedRevision, failedCompareError(resp))
	}
	return resp.Header.Revision, nil
}

// Delete removes key if its revision is expectedRevision (0 = any) and
// returns the deleted value with the deletion revision.
func (s *Store) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KeyValue, error) {
	defer s.metrics.observe("delete", key, time.Now())
	resp, err := s.client.Txn(ctx).
		If(revisionIs(key, expectedRevision)).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return storage.KeyValue{}, fmt.Errorf("delete %s: %w", key, mapError(err))
	}
	if !resp.Succeeded {
		return storage.KeyValue{}, fmt.Errorf("delete %s at revision %d: %w", key, expectedRevision, failedCompareError(resp))
	}
	prev := resp.Responses[0].GetResponseDeleteRange().GetPrevKvs()
	if len(prev) == 0 {
		// Cannot happen: the compare proved the key existed in this transaction.
		return storage.KeyValue{}, fmt.Errorf("delete %s: %w", key, storage.ErrNotFound)
	}
	return storage.KeyValue{Key: key, Value: prev[0].Value, Revision: resp.Header.Revision}, nil
}

// CurrentRevision returns the store's newest revision with a linearizable,
// count-only read.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	defer s.metrics.observe("current_revision", revisionProbeKey, time.Now())
	resp, err := s.client.Get(ctx, revisionProbeKey, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read current revision: %w", mapError(err))
	}
	return resp.Header.Revision, nil
}

// Compact discards history older than rev. Compacting to a revision that
// is already compacted is not an error.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	defer s.metrics.observe("compact", revisionProbeKey, time.Now())
	return compact(ctx, s.client, rev)
}

func compact(ctx context.Context, client *clientv3.Client, rev int64) error {
	if _, err := client.Compact(ctx, rev); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil
		}
		return fmt.Errorf("compact to revision %d: %w", rev, mapError(err))
	}
	return nil
}

// revisionIs compares key's modification revision with rev; rev 0 only
// requires the key to exist.
func revisionIs(key string, rev int64) clientv3.Cmp {
	if rev == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev)
}

// failedCompareError tells a missing key from a stale revision after a
// failed revisionIs transaction whose Else branch read the key.
func failedCompareError(resp *clientv3.TxnResponse) error {
	if len(resp.Responses) == 0 || len(resp.Responses[0].GetResponseRange().GetKvs()) == 0 {
		return storage.ErrNotFound
	}
	return storage.ErrConflict
}

// mapError turns etcd errors that have a storage meaning into storage
// sentinels, keeping the etcd text.
func mapError(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %v", storage.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %v", storage.ErrTooLargeRevision, err)
	default:
		return err
	}
}

// resourceOf names the resource a key belongs to, for metric labels:
// "/registry/core/pods/ns/name" is "pods", "/registry/apps/deployments/…"
// is "deployments.apps".
func resourceOf(key string) string {
	rest, ok := strings.CutPrefix(key, "/registry/")
	if !ok {
		return "other"
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[1] == "" {
		return parts[0]
	}
	if parts[0] == "core" || parts[0] == "" {
		return parts[1]
	}
	return parts[1] + "." + parts[0]
}
