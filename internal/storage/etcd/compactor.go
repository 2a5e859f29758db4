package etcd

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// CompactRevisionKey is the key servers sharing one etcd use to agree who
// compacts. Its etcd version counts compactions and serves as a logical
// clock; its value is the revision observed when it was written.
const CompactRevisionKey = "/registry/compact_rev_key"

// Compactor periodically discards etcd history. At every tick it compacts to
// the revision it observed at the previous tick, so a client always has at
// least one interval to resume a watch or a paginated list. Several servers
// may run a Compactor on the same etcd: a compare-and-swap on
// CompactRevisionKey lets only one of them compact per round.
type Compactor struct {
	client   *clientv3.Client
	interval time.Duration
	log      *slog.Logger

	// Fields below are owned by the Start goroutine.

	// version is the version of CompactRevisionKey this server last saw.
	version int64
	// lastRev is the store revision observed at the previous tick; 0 before
	// the first successful tick.
	lastRev int64
}

// NewCompactor returns a Compactor that runs every interval. A nil log uses
// slog.Default().
func NewCompactor(client *clientv3.Client, interval time.Duration, log *slog.Logger) *Compactor {
	if log == nil {
		log = slog.Default()
	}
	return &Compactor{client: client, interval: interval, log: log}
}

// Start compacts every interval until ctx ends, then returns nil. Failed
// rounds are logged and retried at the next tick.
func (c *Compactor) Start(ctx context.Context) error {
	if c.interval <= 0 {
		return fmt.Errorf("compactor: interval must be positive, got %v", c.interval)
	}
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := c.tick(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("etcd compaction round failed", "err", err)
		}
	}
}

// tick runs one round: claim the round by bumping CompactRevisionKey's
// version from the one last seen, then compact to the revision seen one
// round ago. Losing the claim means another server compacted this round.
func (c *Compactor) tick(ctx context.Context) error {
	resp, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(CompactRevisionKey), "=", c.version)).
		Then(clientv3.OpPut(CompactRevisionKey, strconv.FormatInt(c.lastRev, 10))).
		Else(clientv3.OpGet(CompactRevisionKey)).
		Commit()
	if err != nil {
		return fmt.Errorf("claim compaction round: %w", mapError(err))
	}
	target := c.lastRev
	c.lastRev = resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		c.version = 0
		if len(kvs) > 0 {
			c.version = kvs[0].Version
		}
		return nil
	}
	c.version++
	if target == 0 {
		return nil
	}
	if err := compact(ctx, c.client, target); err != nil {
		return err
	}
	c.log.Debug("compacted etcd", "revision", target)
	return nil
}
