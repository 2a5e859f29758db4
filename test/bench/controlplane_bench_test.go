// Package bench holds the benchmarks recorded in docs/benchmarks.md. The
// control-plane ones in this file drive a real `skiff server` (built once per
// run and started as a separate process on a fresh data dir) with client-go:
//
//	go test -run '^$' -bench 'ServerStartup|CreateConfigMaps|ListConfigMaps|WatchFanout' -benchtime 1x ./test/bench/
//
// Times are reported, never asserted. They skip under -short.
package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

const (
	// loadClients is the number of concurrent client-go clients (one TCP
	// connection each) of the create benchmark and of the watch fan-out.
	loadClients = 16
	// loadObjects is the number of ConfigMaps created and listed.
	loadObjects = 10_000
	// watchers is the number of concurrent watches in the fan-out benchmark.
	watchers = 1000
	// readyPollInterval is how often the startup benchmark polls /readyz.
	readyPollInterval = 5 * time.Millisecond
	// idleSettle is how long after ready the idle RSS is read.
	idleSettle = 2 * time.Second
)

func skipShort(b *testing.B) {
	if testing.Short() {
		b.Skip("control-plane benchmark: skipped under -short")
	}
}

// BenchmarkServerStartup measures one op as the time from exec of
// `skiff server` on an empty data dir until GET /readyz answers 200,
// polling every 5ms. It also reports the process's resident memory 2s
// after ready (idle-RSS-MiB).
func BenchmarkServerStartup(b *testing.B) {
	skipShort(b)
	bin := skiffBinary(b)
	var toReady time.Duration
	var rss float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		port, err := freePort()
		if err != nil {
			b.Fatal(err)
		}
		dataDir := filepath.Join(b.TempDir(), "data")
		client := newReadyzClient()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		b.StartTimer()

		start := time.Now()
		p, err := startServer(bin, dataDir, port)
		if err != nil {
			b.Fatal(err)
		}
		err = p.waitReady(ctx, client, readyPollInterval)
		elapsed := time.Since(start)

		b.StopTimer()
		cancel()
		client.CloseIdleConnections()
		if err != nil {
			_ = p.stop()
			b.Fatal(err)
		}
		toReady += elapsed
		time.Sleep(idleSettle)
		r, rssErr := p.rssMiB()
		if err := p.stop(); err != nil {
			b.Fatal(err)
		}
		if rssErr != nil {
			b.Fatal(rssErr)
		}
		rss += r
	}
	n := float64(b.N)
	b.ReportMetric(ms(toReady)/n, "ms-to-ready")
	b.ReportMetric(rss/n, "idle-RSS-MiB")
}

// BenchmarkCreateConfigMaps measures one op as creating 10,000 ConfigMaps
// in a new namespace with 16 concurrent client-go clients (protobuf, no
// client rate limit) against a fresh server, and reports throughput and
// per-create latency percentiles. "separate-process" runs the skiff binary
// and also reports the server's CPU time per created object (user+system,
// from /proc; steadier than wall time on a shared machine) and its memory
// after the creates; "in-process" runs the server inside the benchmark
// process, for `go test -cpuprofile`.
func BenchmarkCreateConfigMaps(b *testing.B) {
	skipShort(b)
	b.Run("separate-process", func(b *testing.B) {
		benchmarkCreate(b, func(b *testing.B) createTarget {
			p, cfg := startReadyServer(b)
			return createTarget{config: cfg, rssMiB: p.rssMiB, cpuTime: p.cpuTime, stop: func() { _ = p.stop() }}
		})
	})
	b.Run("in-process", func(b *testing.B) {
		benchmarkCreate(b, func(b *testing.B) createTarget {
			s := testserver.Start(b, nil)
			return createTarget{config: s.Config, stop: s.Stop}
		})
	})
}

// createTarget is a started server for the create benchmark.
type createTarget struct {
	config *rest.Config
	// rssMiB and cpuTime measure the server process; nil when it is not a
	// process of its own.
	rssMiB  func() (float64, error)
	cpuTime func() (time.Duration, error)
	stop    func()
}

// benchmarkCreate runs the create benchmark against servers from start.
func benchmarkCreate(b *testing.B, start func(*testing.B) createTarget) {
	ctx := b.Context()
	var all []time.Duration
	var total, serverCPU time.Duration
	var rss float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		t := start(b)
		clients, err := newClients(t.config, loadClients)
		if err != nil {
			b.Fatal(err)
		}
		ns := fmt.Sprintf("bench-create-%d", i)
		if err := createNamespace(ctx, clients[0], ns); err != nil {
			b.Fatal(err)
		}
		if err := warmUp(ctx, clients); err != nil {
			b.Fatal(err)
		}
		var cpuBefore time.Duration
		if t.cpuTime != nil {
			if cpuBefore, err = t.cpuTime(); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()

		began := time.Now()
		lat, err := createConfigMaps(ctx, clients, ns, loadObjects)
		elapsed := time.Since(began)

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		total += elapsed
		all = append(all, lat...)
		if t.cpuTime != nil {
			cpuAfter, err := t.cpuTime()
			if err != nil {
				b.Fatal(err)
			}
			serverCPU += cpuAfter - cpuBefore
		}
		if t.rssMiB != nil {
			r, err := t.rssMiB()
			if err != nil {
				b.Fatal(err)
			}
			rss += r
		}
		t.stop()
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/total.Seconds(), "objects/s")
	b.ReportMetric(percentileMs(all, 0.50), "p50-ms")
	b.ReportMetric(percentileMs(all, 0.99), "p99-ms")
	if serverCPU > 0 {
		b.ReportMetric(float64(serverCPU.Microseconds())/float64(len(all)), "server-CPU-us/obj")
	}
	if rss > 0 {
		b.ReportMetric(rss/float64(b.N), "server-RSS-MiB")
	}
}

// BenchmarkListConfigMaps seeds 10,000 ConfigMaps in one namespace and
// measures one op as listing all of them with one client: in one
// unpaginated request, or page by page with limit=500.
func BenchmarkListConfigMaps(b *testing.B) {
	skipShort(b)
	ctx := b.Context()
	_, cfg := startReadyServer(b)
	clients, err := newClients(cfg, loadClients)
	if err != nil {
		b.Fatal(err)
	}
	const ns = "bench-list"
	if err := createNamespace(ctx, clients[0], ns); err != nil {
		b.Fatal(err)
	}
	if _, err := createConfigMaps(ctx, clients, ns, loadObjects); err != nil {
		b.Fatal(err)
	}
	c := clients[0]
	b.Run("unpaginated", func(b *testing.B) {
		for range b.N {
			list, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if len(list.Items) != loadObjects {
				b.Fatalf("listed %d configmaps, want %d", len(list.Items), loadObjects)
			}
		}
	})
	b.Run("paginated-limit-500", func(b *testing.B) {
		pages := 0
		for range b.N {
			n, cont := 0, ""
			for {
				list, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
				if err != nil {
					b.Fatal(err)
				}
				n += len(list.Items)
				pages++
				if cont = list.Continue; cont == "" {
					break
				}
			}
			if n != loadObjects {
				b.Fatalf("listed %d configmaps, want %d", n, loadObjects)
			}
		}
		b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	})
}

// BenchmarkWatchFanout opens 1,000 watches on the ConfigMaps of one
// namespace (from the current resourceVersion, spread over 16 clients) and
// measures one op as the time from sending an update of one ConfigMap until
// every watcher has received the MODIFIED event. Per-watcher delivery
// latencies are measured from the same start.
func BenchmarkWatchFanout(b *testing.B) {
	skipShort(b)
	ctx := b.Context()
	_, cfg := startReadyServer(b)
	clients, err := newClients(cfg, loadClients)
	if err != nil {
		b.Fatal(err)
	}
	const ns = "bench-watch"
	if err := createNamespace(ctx, clients[0], ns); err != nil {
		b.Fatal(err)
	}
	cm, err := clients[0].CoreV1().ConfigMaps(ns).Create(ctx, benchConfigMap(0), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var delivery []time.Duration
	var setup, update time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		setupStart := time.Now()
		ws, err := openWatches(ctx, clients, ns, cm.ResourceVersion, watchers)
		if err != nil {
			b.Fatal(err)
		}
		setup += time.Since(setupStart)
		got := make([]time.Time, watchers)
		errs := make(chan error, watchers)
		var received sync.WaitGroup
		received.Add(watchers)
		for j, w := range ws {
			go func() {
				first := true
				for ev := range w.ResultChan() {
					switch {
					case ev.Type == watch.Modified && first:
						got[j] = time.Now()
						first = false
						received.Done()
					case ev.Type == watch.Error:
						errs <- fmt.Errorf("watcher %d: %v", j, ev.Object)
						return
					}
				}
			}()
		}
		allReceived := make(chan struct{})
		go func() { received.Wait(); close(allReceived) }()
		cm.Data["index"] = fmt.Sprint(i + 1)
		b.StartTimer()

		began := time.Now()
		cm, err = clients[0].CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		update += time.Since(began)
		select {
		case <-allReceived:
		case err := <-errs:
			b.Fatal(err)
		case <-time.After(time.Minute):
			b.Fatal("not every watcher received the update within a minute")
		}

		b.StopTimer()
		for j := range got {
			delivery = append(delivery, got[j].Sub(began))
		}
		for _, w := range ws {
			w.Stop()
		}
	}
	slices.Sort(delivery)
	n := float64(b.N)
	b.ReportMetric(percentileMs(delivery, 0.50), "p50-ms")
	b.ReportMetric(percentileMs(delivery, 0.99), "p99-ms")
	b.ReportMetric(ms(delivery[len(delivery)-1]), "max-ms")
	b.ReportMetric(ms(update)/n, "update-ms")
	b.ReportMetric(ms(setup)/n, "watch-setup-ms")
}

// openWatches opens n watches on the ConfigMaps of ns from rv, round-robin
// over the clients, and returns once every watch's response has started.
func openWatches(ctx context.Context, clients []kubernetes.Interface, ns, rv string, n int) ([]watch.Interface, error) {
	ws := make([]watch.Interface, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws[i], errs[i] = clients[i%len(clients)].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, w := range ws {
				if w != nil {
					w.Stop()
				}
			}
			return nil, fmt.Errorf("watch %d: %w", i, err)
		}
	}
	return ws, nil
}
