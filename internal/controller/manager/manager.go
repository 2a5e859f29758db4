// Package manager runs skiff's controllers: it elects a leader through the
// Lease kube-system/kube-controller-manager (like kube-controller-manager),
// and for each term as leader builds the clients, one shared informer
// factory and an event broadcaster, constructs the enabled controllers,
// starts the informers and runs every controller until the term ends.
//
//	Run ─► campaign for the lease ─► term: build clients + informers
//	 ▲                                      construct controllers (--controllers)
//	 │                                      start informers, run controllers
//	 └──── lost the lease: stop everything ◄┘ (ctx ends: stop, release the lease)
//
// A term starts from nothing but the API, so losing the lease or
// restarting loses nothing: every controller is level-triggered.
package manager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/auth/pki"
	"github.com/skiffhq/skiff/internal/controller"
)

// Lease coordinates of the controller manager's leader election.
const (
	LeaseNamespace = "kube-system"
	LeaseName      = "kube-controller-manager"
)

// Leader-election timing, upstream's defaults.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// Options configure the controller manager.
type Options struct {
	// Controllers selects controllers like kube-controller-manager's
	// --controllers: "*" all, "foo" on, "-foo" off. Default ["*"].
	Controllers []string
	// Workers is the number of keys each controller reconciles at once
	// (the garbage collector runs four times as many). Default 5.
	Workers int
	// LeaderElection makes the manager hold the Lease
	// kube-system/kube-controller-manager while it runs controllers, so
	// several servers can share one cluster.
	LeaderElection bool
	// Identity names this manager in the lease; default hostname_uuid.
	Identity string
	// RootCA is the API server's serving CA (PEM) that rootcacertpublisher
	// publishes as kube-root-ca.crt; without it that controller is a no-op.
	RootCA []byte
	// TerminatedPodGCThreshold is how many finished pods may exist before
	// the pod GC deletes the oldest; default 12500, negative disables.
	TerminatedPodGCThreshold int
	// PodGCPeriod is how often the pod GC runs; default 20s.
	PodGCPeriod time.Duration
	// PodGCQuarantine is how long a pod's node must be missing before the
	// pod GC deletes the pod; default 40s.
	PodGCQuarantine time.Duration
	// GCDiscoveryPeriod is how often the garbage collector looks for new
	// or removed resources; default 30s.
	GCDiscoveryPeriod time.Duration
	// ClusterCIDR is the range node pod CIDRs are cut from; default
	// 10.42.0.0/16. NodeCIDRMaskSize is each node's prefix length; default 24.
	ClusterCIDR      string
	NodeCIDRMaskSize int
	// NodeMonitorGracePeriod is how long a node may go without renewing its
	// lease or status before it is marked Unknown; default 40s.
	NodeMonitorGracePeriod time.Duration
	// CSRSigningCA signs approved client CertificateSigningRequests (the
	// cluster client CA); without it csrsigning signs nothing.
	CSRSigningCA *pki.CA
	// CSRSigningDuration caps issued certificates' validity; default a year.
	CSRSigningDuration time.Duration
	// Log is the logger; default slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 5
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "_" + string(uuid.NewUUID())
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Validate checks the options without starting anything (an unknown name
// in Controllers is an error).
func (o Options) Validate() error {
	if _, err := selectControllers(o.Controllers); err != nil {
		return err
	}
	return nodeIPAMConfig(o).Validate()
}

// Run runs the enabled controllers against the API server cfg points to
// until ctx ends. With leader election it runs them only while holding the
// lease and campaigns again after losing it. cfg's QPS and Burst apply to
// every client; a zero QPS means no client-side limit.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	o = o.withDefaults()
	enabled, err := selectControllers(o.Controllers)
	if err != nil {
		return err
	}
	o.Log.Info("controller manager starting", "controllers", enabledNames(enabled), "leaderElection", o.LeaderElection)
	if !o.LeaderElection {
		return runTerm(ctx, cfg, o, enabled)
	}
	lockClient, err := kubernetes.NewForConfig(withUserAgent(cfg, "leader-election"))
	if err != nil {
		return fmt.Errorf("leader election client: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: LeaseNamespace, Name: LeaseName},
		Client:     lockClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	for ctx.Err() == nil {
		if err := leadOnce(ctx, cfg, o, enabled, lock); err != nil {
			return err
		}
	}
	return nil
}

// leadOnce campaigns for the lease, runs one term while holding it and
// returns when the term ends (lease lost or ctx done). The lease is
// released only after every controller has stopped.
func leadOnce(ctx context.Context, cfg *rest.Config, o Options, enabled []knownController, lock resourcelock.Interface) error {
	// The elector's context outlives ctx until the term has stopped, so
	// ReleaseOnCancel never hands the lease over while controllers still run.
	leCtx, leCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer leCancel()
	var (
		mu       sync.Mutex
		termDone chan struct{} // closed when the term has stopped; nil before it starts
		termErr  error         // set before termDone is closed
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            LeaseName,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   renewDeadline,
		RetryPeriod:     retryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(termCtx context.Context) {
				mu.Lock()
				if ctx.Err() != nil {
					mu.Unlock()
					return
				}
				done := make(chan struct{})
				termDone = done
				mu.Unlock()
				defer close(done)
				runCtx, cancel := context.WithCancel(termCtx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				o.Log.Info("controller manager became leader", "identity", o.Identity)
				termErr = runTerm(runCtx, cfg, o, enabled)
			},
			OnStoppedLeading: func() {
				o.Log.Info("controller manager stopped leading", "identity", o.Identity)
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-ctx.Done():
		case <-leCtx.Done():
			return
		}
		mu.Lock()
		done := termDone
		mu.Unlock()
		if done != nil {
			<-done
		}
		leCancel()
	}()
	le.Run(leCtx)
	leCancel()
	<-watcherDone
	mu.Lock()
	done := termDone
	mu.Unlock()
	if done == nil {
		return nil
	}
	<-done
	if termErr != nil && ctx.Err() == nil {
		return termErr
	}
	return nil
}

// dropManagedFields is the informers' transform. It only writes when there
// is something to drop, so it may see an object twice.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// runTerm builds everything the controllers share, runs them until ctx ends
// or one fails, and waits for all of them and their informers to stop.
func runTerm(ctx context.Context, cfg *rest.Config, o Options, enabled []knownController) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pcfg := withUserAgent(cfg, "controller-manager")
	pcfg.ContentType = "application/vnd.kubernetes.protobuf"
	pcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(pcfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	meta, err := metadata.NewForConfig(withUserAgent(cfg, "controller-manager"))
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	// Resync period 0: no periodic resyncs; reconcilers requeue themselves
	// when time matters. No controller reads managedFields: the caches keep
	// objects without them, as upstream's controller manager does.
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(dropManagedFields))
	metaFactory := metadatainformer.NewSharedInformerFactory(meta, 0)
	// The broadcaster outlives ctx until every controller has stopped, so
	// their last events are not refused.
	events := record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)))
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer events.Shutdown()

	cc := &controller.Context{
		Client: client, Metadata: meta, Discovery: client.Discovery(),
		Informers: factory, MetadataInformers: metaFactory, Events: events,
		Workers: o.Workers, Log: o.Log,
	}
	type running struct {
		name string
		r    controller.Runnable
	}
	var runs []running
	for _, k := range enabled {
		r, err := k.start(cc, o)
		if err != nil {
			return fmt.Errorf("start %s controller: %w", k.name, err)
		}
		runs = append(runs, running{k.name, r})
	}
	factory.Start(ctx.Done())
	metaFactory.Start(ctx.Done())

	var (
		wg       sync.WaitGroup
		failOnce sync.Once
		failed   error // the first controller failure; set once
	)
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run.r.Run(ctx); err != nil && ctx.Err() == nil {
				failOnce.Do(func() { failed = fmt.Errorf("%s controller: %w", run.name, err) })
				cancel()
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	factory.Shutdown()
	metaFactory.Shutdown()
	return failed
}

// withUserAgent copies cfg for one client. A zero QPS (client-go's default
// of 5 requests/s, far too few for controllers) becomes no client-side
// limit; an explicit limit is kept.
func withUserAgent(cfg *rest.Config, agent string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.UserAgent = "skiff-" + agent
	if c.QPS == 0 && c.RateLimiter == nil {
		c.QPS, c.Burst = -1, -1
	}
	return c
}
