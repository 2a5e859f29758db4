package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/storagetest"
)

// startTestEtcd starts an embedded etcd for one test, with fast progress
// notifications, and writes one seed key so that revision 1 predates every
// store the test builds.
func startTestEtcd(t testing.TB) *Embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := StartEmbedded(ctx, t.TempDir(), WithProgressNotifyInterval(100*time.Millisecond))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	if _, err := New(e.Client()).Create(ctx, "/registry/seed", []byte("seed")); err != nil {
		t.Fatalf("write seed key: %v", err)
	}
	return e
}

func TestStoreContractEmbedded(t *testing.T) {
	e := startTestEtcd(t)
	store := New(e.Client())
	storagetest.RunContractTests(t, func(*testing.T) storage.Interface {
		return New(e.Client())
	}, storagetest.Options{Compact: store.Compact})
}

func TestContinueTokenRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		next    string
		rev     int64
		wantErr error
	}{
		{name: "plain key", prefix: "/registry/core/pods/", next: "/registry/core/pods/default/web-0\x00", rev: 42},
		{name: "namespace boundary", prefix: "/registry/core/pods/", next: "/registry/core/pods/kube-system/\x00", rev: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token, err := encodeContinue(tc.prefix, tc.next, tc.rev)
			if err != nil {
				t.Fatalf("encodeContinue: %v", err)
			}
			gotKey, gotRev, err := decodeContinue(tc.prefix, token)
			if err != nil {
				t.Fatalf("decodeContinue: %v", err)
			}
			if gotKey != tc.next || gotRev != tc.rev {
				t.Fatalf("decoded %q @%d, want %q @%d", gotKey, gotRev, tc.next, tc.rev)
			}
		})
	}
}

func TestStoreMetrics(t *testing.T) {
	e := startTestEtcd(t)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	if _, err := NewMetrics(reg); err != nil {
		t.Fatalf("second NewMetrics on the same registry: %v", err)
	}
	s := New(e.Client(), WithMetrics(m))
	ctx := t.Context()
	if _, err := s.Create(ctx, "/registry/core/pods/default/a", []byte("v")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.List(ctx, "/registry/apps/deployments/", storage.ListOptions{}); err != nil {
		t.Fatalf("List: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[[2]string]uint64{}
	for _, f := range families {
		if f.GetName() != "etcd_request_duration_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[[2]string{labels["operation"], labels["type"]}] = metric.GetHistogram().GetSampleCount()
		}
	}
	for _, want := range [][2]string{{"create", "pods"}, {"list", "deployments.apps"}} {
		if got[want] != 1 {
			t.Errorf("samples for %v = %d, want 1 (all: %v)", want, got[want], got)
		}
	}
}

func TestEmbeddedRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	e, err := StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	rev, err := New(e.Client()).Create(ctx, "/registry/core/pods/default/a", []byte("v"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e, err = StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatalf("restart StartEmbedded: %v", err)
	}
	defer e.Close()
	kv, err := New(e.Client()).Get(ctx, "/registry/core/pods/default/a")
	if err != nil || string(kv.Value) != "v" || kv.Revision != rev {
		t.Fatalf("Get after restart = %q @%d, %v; want %q @%d", kv.Value, kv.Revision, err, "v", rev)
	}
}

func TestCompactorTakesTurns(t *testing.T) {
	e := startTestEtcd(t)
	ctx := t.Context()
	s := New(e.Client())
	a := NewCompactor(e.Client(), time.Hour, nil)
	b := NewCompactor(e.Client(), time.Hour, nil)
	write := func() int64 {
		t.Helper()
		rev, err := s.Update(ctx, "/registry/seed", []byte("x"), 0)
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		return rev
	}
	// Each step is one tick of one server; want is the revision it compacts
	// to (0: none), computed from the revisions seen by earlier ticks.
	steps := []struct {
		name string
		c    *Compactor
		want func() int64
	}{
		{name: "a claims the first round, nothing to compact yet", c: a, want: func() int64 { return 0 }},
		{name: "b loses the first round", c: b, want: func() int64 { return 0 }},
		{name: "a compacts to what it saw last round", c: a, want: func() int64 { return a.lastRev }},
		{name: "b loses again", c: b, want: func() int64 { return 0 }},
		{name: "b wins the next round", c: b, want: func() int64 { return b.lastRev }},
	}
	for _, step := range steps {
		write()
		want := step.want()
		before := oldestRevision(t, s)
		if err := step.c.tick(ctx); err != nil {
			t.Fatalf("%s: tick: %v", step.name, err)
		}
		after := oldestRevision(t, s)
		switch {
		case want == 0 && after != before:
			t.Fatalf("%s: oldest revision moved from %d to %d, want no compaction", step.name, before, after)
		case want != 0 && after != want:
			t.Fatalf("%s: oldest revision %d, want %d", step.name, after, want)
		}
	}
}

// oldestRevision finds the oldest readable revision, which is the one etcd
// last compacted to, by probing exact reads (binary search over [1, current]).
func oldestRevision(t *testing.T, s *Store) int64 {
	t.Helper()
	cur, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatalf("CurrentRevision: %v", err)
	}
	lo, hi := int64(1), cur // hi is readable
	for lo < hi {
		mid := (lo + hi) / 2
		_, err := s.List(t.Context(), "/registry/seed", storage.ListOptions{Match: storage.MatchExact, Revision: mid})
		switch {
		case errors.Is(err, storage.ErrCompacted):
			lo = mid + 1
		case err == nil:
			hi = mid
		default:
			t.Fatalf("List at %d: %v", mid, err)
		}
	}
	return lo
}

func TestCompactorStartCompacts(t *testing.T) {
	e := startTestEtcd(t)
	s := New(e.Client())
	first, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatalf("CurrentRevision: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- NewCompactor(e.Client(), 20*time.Millisecond, nil).Start(ctx) }()
	deadline := time.After(30 * time.Second)
	for oldestRevision(t, s) <= first {
		select {
		case <-deadline:
			t.Fatalf("history at %d never compacted", first)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Compactor.Start: %v", err)
	}
}

func TestStoreRequestProgress(t *testing.T) {
	// Periodic notifications are an hour apart here, so a bookmark within
	// the wait below can only come from RequestProgress.
	e, err := StartEmbedded(t.Context(), t.TempDir(), WithProgressNotifyInterval(time.Hour))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	defer e.Close()
	s := New(e.Client())
	ctx := t.Context()
	ch, err := s.Watch(ctx, "/registry/core/pods/", storage.WatchOptions{Bookmarks: true})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	rev, err := s.Create(ctx, "/registry/core/nodes/n1", []byte("v"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	deadline := time.After(30 * time.Second)
	for {
		if err := s.RequestProgress(ctx); err != nil {
			t.Fatalf("RequestProgress: %v", err)
		}
		select {
		case ev := <-ch:
			if ev.Type != storage.Bookmark {
				t.Fatalf("got %v, want Bookmark", ev.Type)
			}
			if ev.Revision >= rev {
				return
			}
		case <-time.After(100 * time.Millisecond):
			// The watch may not have been synced yet when asked; ask again.
		case <-deadline:
			t.Fatalf("no bookmark at revision >= %d", rev)
		}
	}
}

func TestProgressInOrder(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{version: "3.4.23", want: false}, // Debian 12's etcd-server
		{version: "3.4.24", want: true},
		{version: "3.5.7", want: false},
		{version: "3.5.8", want: true},
		{version: "3.5.21", want: true},
		{version: "3.6.0", want: true},
		{version: "3.3.27", want: false},
		{version: "garbage", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			if got := progressInOrder(tc.version); got != tc.want {
				t.Fatalf("progressInOrder(%q) = %v, want %v", tc.version, got, tc.want)
			}
		})
	}
}
