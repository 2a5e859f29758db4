package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/cacher"
	"github.com/skiffhq/skiff/internal/storage/storagetest"
)

// externalMember is one etcd process of a test cluster.
type externalMember struct {
	name      string
	clientURL string
	peerURL   string
	logPath   string
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has exited
}

// startExternalCluster runs an n-member cluster of Debian's etcd binary on
// free loopback ports, in temporary directories, until the test ends.
func startExternalCluster(t *testing.T, n int) []*externalMember {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd binary not on PATH (Debian package etcd-server; the Makefile installs it): skipping external cluster test")
	}
	members := make([]*externalMember, n)
	var initial []string
	for i := range members {
		m := &externalMember{name: fmt.Sprintf("m%d", i), exited: make(chan struct{})}
		m.clientURL, m.peerURL = freeURL(t), freeURL(t)
		initial = append(initial, m.name+"="+m.peerURL)
		members[i] = m
	}
	for _, m := range members {
		dir := t.TempDir()
		m.logPath = filepath.Join(dir, "etcd.log")
		m.start(t, bin, dir, strings.Join(initial, ","))
	}
	t.Cleanup(func() {
		for _, m := range members {
			m.kill()
			if t.Failed() {
				logs, _ := os.ReadFile(m.logPath)
				t.Logf("etcd %s log:\n%s", m.name, tail(string(logs), 3000))
			}
		}
	})
	return members
}

// start launches the member; it dies with the test process.
func (m *externalMember) start(t *testing.T, bin, dir, initialCluster string) {
	t.Helper()
	logFile, err := os.Create(m.logPath)
	if err != nil {
		t.Fatalf("create etcd log: %v", err)
	}
	m.cmd = exec.Command(bin,
		"--name="+m.name,
		"--data-dir="+filepath.Join(dir, "data"),
		"--listen-client-urls="+m.clientURL,
		"--advertise-client-urls="+m.clientURL,
		"--listen-peer-urls="+m.peerURL,
		"--initial-advertise-peer-urls="+m.peerURL,
		"--initial-cluster="+initialCluster,
		"--initial-cluster-state=new",
		"--initial-cluster-token=skiff-external-test",
		"--heartbeat-interval=50",
		"--election-timeout=500",
		"--experimental-watch-progress-notify-interval=200ms",
		"--logger=zap",
		"--log-level=warn",
	)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start etcd %s: %v", m.name, err)
	}
	go func() {
		_ = m.cmd.Wait()
		logFile.Close()
		close(m.exited)
	}()
}

// kill stops the member at once and waits for it to exit.
func (m *externalMember) kill() {
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
}

func freeURL(t *testing.T) string {
	t.Helper()
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	return (&url.URL{Scheme: "http", Host: "127.0.0.1:" + port}).String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// waitFor polls cond every 50ms until it is true or 60s passed.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderOf returns the member ID and index of the leader that the running
// members agree on, or (0, -1) while they have none.
func leaderOf(ctx context.Context, client *clientv3.Client, members []*externalMember) (uint64, int) {
	index := map[uint64]int{} // member ID -> index, for running members
	var leader uint64
	for i, m := range members {
		select {
		case <-m.exited:
			continue
		default:
		}
		st, err := client.Status(ctx, m.clientURL)
		if err != nil {
			continue
		}
		index[st.Header.MemberId] = i
		if st.Leader != 0 && st.Leader == st.Header.MemberId {
			leader = st.Leader
		}
	}
	if i, ok := index[leader]; ok && leader != 0 {
		return leader, i
	}
	return 0, -1
}

func TestStoreExternalCluster(t *testing.T) {
	members := startExternalCluster(t, 3)
	var endpoints []string
	for _, m := range members {
		endpoints = append(endpoints, m.clientURL)
	}
	client, err := NewClient(endpoints, "", "", "")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	store := New(client)
	waitFor(t, "the cluster to serve", func(ctx context.Context) bool {
		_, err := store.CurrentRevision(ctx)
		return err == nil
	})
	newStore := func(*testing.T) storage.Interface { return New(client) }

	t.Run("contract", func(t *testing.T) {
		storagetest.RunContractTests(t, newStore, storagetest.Options{Compact: store.Compact})
	})
	t.Run("cacher contract", func(t *testing.T) {
		storagetest.RunContractTests(t, func(t *testing.T) storage.Interface {
			return startTestCacher(t, store)
		}, storagetest.Options{Compact: store.Compact})
	})
	t.Run("writes survive losing the leader", func(t *testing.T) {
		testLoseLeader(t, store, client, members)
	})
	t.Run("contract with one member down", func(t *testing.T) {
		storagetest.RunContractTests(t, newStore, storagetest.Options{Compact: store.Compact})
	})
	t.Run("cacher contract with one member down", func(t *testing.T) {
		storagetest.RunContractTests(t, func(t *testing.T) storage.Interface {
			return startTestCacher(t, store)
		}, storagetest.Options{Compact: store.Compact})
	})
}

// startTestCacher starts a watch cache over all of /registry/ on backend
// for one test.
func startTestCacher(t *testing.T, backend storage.Interface) *cacher.Cacher {
	t.Helper()
	c := cacher.New(backend, "/registry/", cacher.WithBookmarkInterval(50*time.Millisecond), cacher.WithCatchUpTimeout(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Cacher.Start: %v", err)
		}
	})
	select {
	case <-c.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("cacher not ready")
	}
	return c
}

// testLoseLeader writes, kills the leader, writes again, and checks that
// every write succeeded and a watch (resumed like any consumer resumes)
// saw all of them in order.
func testLoseLeader(t *testing.T, store *Store, client *clientv3.Client, members []*externalMember) {
	const prefix = "/registry/core/pods/ha/"
	ctx := t.Context()
	start, err := store.CurrentRevision(ctx)
	if err != nil {
		t.Fatalf("CurrentRevision: %v", err)
	}
	var revs []int64
	write := func(i int) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rev, err := store.Create(wctx, fmt.Sprintf("%sp%03d", prefix, i), []byte("v"))
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		revs = append(revs, rev)
	}
	for i := range 25 {
		write(i)
	}
	var oldLeader uint64
	waitFor(t, "a leader", func(ctx context.Context) bool {
		id, idx := leaderOf(ctx, client, members)
		if idx < 0 {
			return false
		}
		oldLeader = id
		members[idx].kill()
		return true
	})
	waitFor(t, "a new leader", func(ctx context.Context) bool {
		id, _ := leaderOf(ctx, client, members)
		return id != 0 && id != oldLeader
	})
	for i := 25; i < 50; i++ {
		write(i)
	}
	got := watchAll(t, store, prefix, start, len(revs))
	for i, rev := range revs {
		if got[i] != rev {
			t.Fatalf("watch event %d at revision %d, want %d", i, got[i], rev)
		}
	}
}

// watchAll collects the revisions of n events under prefix after from,
// re-watching from the last seen revision when a watch fails.
func watchAll(t *testing.T, store *Store, prefix string, from int64, n int) []int64 {
	t.Helper()
	var got []int64
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := store.Watch(ctx, prefix, storage.WatchOptions{Revision: from})
		if err != nil {
			cancel()
			t.Fatalf("Watch: %v", err)
		}
	read:
		for len(got) < n {
			select {
			case ev, ok := <-ch:
				switch {
				case !ok:
					break read
				case ev.Type == storage.Error:
					if errors.Is(ev.Err, storage.ErrCompacted) {
						cancel()
						t.Fatalf("watch: %v", ev.Err)
					}
					t.Logf("watch failed, resuming from %d: %v", from, ev.Err)
					break read
				case ev.Type != storage.Bookmark:
					got, from = append(got, ev.Revision), ev.Revision
				}
			case <-deadline:
				cancel()
				t.Fatalf("watch saw %d of %d events", len(got), n)
			}
		}
		cancel()
	}
	return got
}
