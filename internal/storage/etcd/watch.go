package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
)

// Watch streams changes under prefix (or of the single key prefix when it
// has no trailing "/") with revisions greater than opts.Revision. Revision 0
// means "from now on": the current revision is read first, so no write that
// completes after Watch returns is missed. A compacted start revision yields
// one Error event wrapping storage.ErrCompacted; bookmarks come from etcd's
// watch progress notifications.
func (s *Store) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	if prefix == "" {
		return nil, errors.New("watch: empty prefix")
	}
	from := opts.Revision
	if from == 0 {
		rev, err := s.CurrentRevision(ctx)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", prefix, err)
		}
		from = rev
	}
	watchOpts := []clientv3.OpOption{clientv3.WithRev(from + 1)}
	if !opts.OmitPrevValue {
		watchOpts = append(watchOpts, clientv3.WithPrevKV())
	}
	if strings.HasSuffix(prefix, "/") {
		watchOpts = append(watchOpts, clientv3.WithPrefix())
	}
	if opts.Bookmarks {
		watchOpts = append(watchOpts, clientv3.WithProgressNotify())
	}
	// Cancelling watchCtx (when the consumer goes away) ends the etcd watch.
	watchCtx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(watchCtx, prefix, watchOpts...)
	out := make(chan storage.Event, 100)
	go func() {
		defer close(out)
		defer cancel()
		forwardWatch(ctx, wch, out, prefix, opts.Bookmarks)
	}()
	return out, nil
}

// forwardWatch translates etcd watch responses into storage events until ctx
// ends or the watch fails; a failure is sent as the last, Error, event.
func forwardWatch(ctx context.Context, wch clientv3.WatchChan, out chan<- storage.Event, prefix string, bookmarks bool) {
	send := func(ev storage.Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		var wr clientv3.WatchResponse
		var ok bool
		select {
		case wr, ok = <-wch:
		case <-ctx.Done():
			return
		}
		if !ok {
			if ctx.Err() == nil {
				send(storage.Event{Type: storage.Error, Err: fmt.Errorf("watch %s: etcd closed the watch", prefix)})
			}
			return
		}
		if err := watchError(wr, prefix); err != nil {
			send(storage.Event{Type: storage.Error, Err: err})
			return
		}
		if wr.IsProgressNotify() {
			if bookmarks && !send(storage.Event{Type: storage.Bookmark, Revision: wr.Header.Revision}) {
				return
			}
			continue
		}
		for _, e := range wr.Events {
			if !send(toEvent(e)) {
				return
			}
		}
	}
}

// watchError returns the error a watch response carries, if any.
func watchError(wr clientv3.WatchResponse, prefix string) error {
	if wr.CompactRevision != 0 {
		return fmt.Errorf("watch %s: oldest retained revision is %d: %w", prefix, wr.CompactRevision, storage.ErrCompacted)
	}
	if err := wr.Err(); err != nil {
		return fmt.Errorf("watch %s: %w", prefix, mapError(err))
	}
	return nil
}

// toEvent converts one etcd event.
func toEvent(e *clientv3.Event) storage.Event {
	ev := storage.Event{Key: string(e.Kv.Key), Revision: e.Kv.ModRevision}
	var prev []byte
	if e.PrevKv != nil {
		prev, ev.PrevRevision = e.PrevKv.Value, e.PrevKv.ModRevision
	}
	switch {
	case e.Type == mvccpb.DELETE:
		ev.Type, ev.Value, ev.PrevValue = storage.Deleted, prev, prev
	case e.IsCreate():
		ev.Type, ev.Value = storage.Added, e.Kv.Value
	default:
		ev.Type, ev.Value, ev.PrevValue = storage.Modified, e.Kv.Value, prev
	}
	return ev
}
