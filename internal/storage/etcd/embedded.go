package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Embedded is a single-member etcd running inside this process. It listens
// for clients on a free loopback port (for tools such as etcdctl or backups)
// and hands out an in-process client that skips the network.
type Embedded struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	endpoints []string
	closeOnce sync.Once
}

// EmbeddedOption tunes StartEmbedded.
type EmbeddedOption func(*embed.Config)

// WithProgressNotifyInterval sets how often etcd sends progress
// notifications (Bookmarks) to idle watches that asked for them. etcd
// keeps this setting process-wide, and its minimum is 100ms.
func WithProgressNotifyInterval(d time.Duration) EmbeddedOption {
	return func(cfg *embed.Config) { cfg.ExperimentalWatchProgressNotifyInterval = d }
}

// WithUnsafeNoFsync skips fsync: a crash may lose or corrupt data. For tests
// and throw-away scale runs only.
func WithUnsafeNoFsync() EmbeddedOption {
	return func(cfg *embed.Config) { cfg.UnsafeNoFsync = true }
}

// WithLogLevel sets etcd's zap log level ("debug", "info", "warn",
// "error"); the default is "error".
func WithLogLevel(level string) EmbeddedOption {
	return func(cfg *embed.Config) { cfg.LogLevel = level }
}

// StartEmbedded starts a single-member etcd with its data under dir and
// waits until it serves requests. ctx bounds the start only; Close stops
// the server.
func StartEmbedded(ctx context.Context, dir string, opts ...EmbeddedOption) (*Embedded, error) {
	// The client port is picked free, then bound by etcd: another process
	// may take it in between, so retry a few times.
	for attempt := 1; ; attempt++ {
		e, err := startEmbedded(ctx, dir, opts)
		if err == nil || attempt == 3 || !isAddrInUse(err) {
			return e, err
		}
	}
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// startEmbedded makes one attempt at StartEmbedded.
func startEmbedded(ctx context.Context, dir string, opts []EmbeddedOption) (*Embedded, error) {
	cfg, err := embeddedConfig(dir)
	if err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, ctx.Err())
	}
	endpoints := make([]string, 0, len(cfg.AdvertiseClientUrls))
	for _, u := range cfg.AdvertiseClientUrls {
		endpoints = append(endpoints, u.String())
	}
	return &Embedded{etcd: e, client: v3client.New(e.Server), endpoints: endpoints}, nil
}

// embeddedConfig is the configuration for a quiet, fast-starting,
// loopback-only single member.
func embeddedConfig(dir string) (*embed.Config, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", port)}
	cfg := embed.NewConfig()
	cfg.Name = "skiff"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	// A single member never talks to peers, so it opens no peer listener.
	// The advertised peer URL only names the member in its stored cluster
	// membership and must stay the same across restarts of dir.
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:2380"}
	cfg.ListenPeerUrls = nil
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	cfg.InitialClusterToken = "skiff-embedded"
	// With no peers, short ticks only make the first self-election fast.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.SnapshotCount = 10000
	cfg.ExperimentalWatchProgressNotifyInterval = 5 * time.Second
	cfg.LogLevel = "error"
	cfg.EnableGRPCGateway = false
	cfg.Metrics = "basic"
	return cfg, nil
}

// freeLoopbackPort asks the kernel for a free loopback TCP port.
func freeLoopbackPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free loopback port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return "", fmt.Errorf("pick a free loopback port: %w", err)
	}
	return port, nil
}

// Client returns the in-process client. It stays valid until Close.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoints returns the loopback client URLs for out-of-process tools.
func (e *Embedded) Endpoints() []string { return e.endpoints }

// Err reports a fatal server error; it is closed once the server stopped.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops the server and its client. It is safe to call more than once.
func (e *Embedded) Close() error {
	var err error
	e.closeOnce.Do(func() {
		err = e.client.Close()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		e.etcd.Close()
	})
	if err != nil {
		return fmt.Errorf("close embedded etcd client: %w", err)
	}
	return nil
}
