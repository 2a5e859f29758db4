package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
)

// progressSupport remembers whether every etcd member answers progress
// requests in order with watch events. Servers before 3.4.24 and 3.5.8
// could report a revision whose events were still unsent (etcd issue 15220).
type progressSupport struct {
	mu      sync.Mutex
	checked bool // guarded by mu
	ok      bool // guarded by mu
}

// RequestProgress asks etcd to send a progress notification (a Bookmark) to
// every watch of this Store that asked for bookmarks and is synced. The watch
// cache uses it to learn quickly that it is up to date. It fails with
// storage.ErrProgressUnsupported when a member is too old to do it safely.
func (s *Store) RequestProgress(ctx context.Context) error {
	ok, err := s.progress.supported(ctx, s.client)
	if err != nil {
		return fmt.Errorf("request watch progress: %w", err)
	}
	if !ok {
		return fmt.Errorf("request watch progress: %w", storage.ErrProgressUnsupported)
	}
	if err := s.client.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		return fmt.Errorf("request watch progress: %w", mapError(err))
	}
	return nil
}

// supported checks the members' versions once some member answered; a
// member that is down then is assumed to run the others' version.
func (p *progressSupport) supported(ctx context.Context, client *clientv3.Client) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checked {
		return p.ok, nil
	}
	endpoints := client.Endpoints()
	if len(endpoints) == 0 {
		endpoints = []string{""} // in-process client: the endpoint is ignored
	}
	ok, reached := true, 0
	for _, ep := range endpoints {
		statusCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := client.Status(statusCtx, ep)
		cancel()
		if err != nil {
			continue // a member that is down is checked when it is back
		}
		reached++
		ok = ok && progressInOrder(st.Version)
	}
	if reached == 0 {
		return false, fmt.Errorf("read etcd version: no member of %v answered", endpoints)
	}
	p.checked, p.ok = true, ok
	return ok, nil
}

// progressInOrder reports whether an etcd server version sends requested
// progress notifications in order with events.
func progressInOrder(version string) bool {
	var major, minor, patch int
	if _, err := fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return false
	}
	switch {
	case major != 3:
		return major > 3
	case minor == 4:
		return patch >= 24
	case minor == 5:
		return patch >= 8
	default:
		return minor > 5
	}
}
