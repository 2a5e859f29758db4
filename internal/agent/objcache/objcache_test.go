package objcache_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/agent/objcache"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// countingClient is a client whose plain GETs of single objects (not
// lists, not watches) are counted.
func countingClient(t *testing.T, cfg *rest.Config) (kubernetes.Interface, *atomic.Int64) {
	t.Helper()
	var gets atomic.Int64
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			q := r.URL.Query()
			if r.Method == http.MethodGet && q.Get("watch") == "" && q.Get("fieldSelector") == "" &&
				(strings.Contains(r.URL.Path, "/configmaps/") || strings.Contains(r.URL.Path, "/secrets/")) {
				gets.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	return kubernetes.NewForConfigOrDie(cfg), &gets
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// changes records OnChange calls.
type changes struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *changes) record(kind objcache.Kind, ns, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[string(kind)+" "+ns+"/"+name]++
}

func (c *changes) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[key]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCacheServesFromWatch: after the first read an object is served from
// its watch (no more GETs), updates and deletion show up there and are
// reported through OnChange, and an absent object reads as NotFound until
// it is created.
func TestCacheServesFromWatch(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := srv.Client.CoreV1()
	if _, err := cs.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Secrets("app").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"token": "v1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client, gets := countingClient(t, srv.Config)
	ch := &changes{seen: map[string]int{}}
	c := objcache.New(objcache.Options{Client: client, OnChange: ch.record})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()

	// The first read may go to the API (the watch is still listing);
	// once the watch has listed, reads cost no request.
	waitFor(t, "the secret's watch to serve it", func() bool {
		before := gets.Load()
		s, err := c.Secret(ctx, "app", "creds")
		if err != nil {
			t.Fatalf("Secret: %v", err)
		}
		if string(s.Data["token"]) != "v1" {
			t.Fatalf("token = %q, want v1", s.Data["token"])
		}
		return gets.Load() == before
	})
	for range 20 {
		if _, err := c.Secret(ctx, "app", "creds"); err != nil {
			t.Fatal(err)
		}
	}
	settled := gets.Load()

	if _, err := cs.Secrets("app").Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"token": "v2"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update to be served and reported", func() bool {
		s, err := c.Secret(ctx, "app", "creds")
		return err == nil && string(s.Data["token"]) == "v2" && ch.count("Secret app/creds") >= 1
	})

	if err := cs.Secrets("app").Delete(ctx, "creds", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion to read as NotFound", func() bool {
		_, err := c.Secret(ctx, "app", "creds")
		return apierrors.IsNotFound(err) && ch.count("Secret app/creds") >= 2
	})
	if _, err := c.Secret(ctx, "app", "creds"); err == nil || err.Error() != `secrets "creds" not found` {
		t.Errorf("deleted secret: error %v, want the API's NotFound text", err)
	}

	if n := gets.Load() - settled; n != 0 {
		t.Errorf("%d GETs after the watch listed, want reads served from the watch", n)
	}

	// An object absent from the start is watched too: it appears once created.
	waitFor(t, "the absent configmap's watch", func() bool {
		before := gets.Load()
		_, err := c.ConfigMap(ctx, "app", "later")
		if !apierrors.IsNotFound(err) {
			t.Fatalf("absent configmap: %v, want NotFound", err)
		}
		return gets.Load() == before
	})
	if _, err := cs.ConfigMaps("app").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settled = gets.Load()
	waitFor(t, "the created configmap", func() bool {
		cm, err := c.ConfigMap(ctx, "app", "later")
		return err == nil && cm.Data["k"] == "v"
	})
	if n := gets.Load() - settled; n != 0 {
		t.Errorf("%d GETs for a watched configmap, want reads served from the watch", n)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestCacheStopsIdleWatches: an object nobody reads is no longer watched
// (its next read goes to the API again), and reads before Run go to the API.
func TestCacheStopsIdleWatches(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := srv.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client, gets := countingClient(t, srv.Config)
	c := objcache.New(objcache.Options{Client: client, IdleTimeout: 200 * time.Millisecond})
	if cm, err := c.ConfigMap(ctx, "default", "cfg"); err != nil || cm.Data["k"] != "v" || gets.Load() != 1 {
		t.Fatalf("read before Run: %v, %v, %d GETs; want the object from one GET", cm, err, gets.Load())
	}
	go c.Run(ctx)
	waitFor(t, "the watch to serve the configmap", func() bool {
		before := gets.Load()
		_, err := c.ConfigMap(ctx, "default", "cfg")
		return err == nil && gets.Load() == before
	})
	// Unread for longer than the idle timeout, the watch is stopped and
	// the next read is a request again.
	time.Sleep(time.Second)
	before := gets.Load()
	if _, err := c.ConfigMap(ctx, "default", "cfg"); err != nil {
		t.Fatal(err)
	}
	if gets.Load() != before+1 {
		t.Errorf("read after idling: %d GETs, want 1 (the watch should have stopped)", gets.Load()-before)
	}
}
