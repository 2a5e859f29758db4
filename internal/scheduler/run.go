package scheduler

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
)

// Run schedules pods until ctx ends. With leader election on it first
// acquires the Lease and schedules only while it holds it (another
// instance takes over when it loses it); each term starts from fresh
// informers. It returns nil when ctx ends, or the error that stopped it.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	o = o.withDefaults()
	conf, err := LoadConfig(o)
	if err != nil {
		return err
	}
	if err := validateProfiles(conf); err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = conf.QPS, conf.Burst
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.UserAgent = "skiff-scheduler"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("scheduler client: %w", err)
	}
	run := func(ctx context.Context) error { return runScheduler(ctx, client, conf, o.Logger) }
	if !conf.LeaderElect {
		return run(ctx)
	}
	return runLeaderElected(ctx, client, conf, o, run)
}

// runScheduler runs one scheduler with its own informers until ctx ends.
func runScheduler(ctx context.Context, client kubernetes.Interface, conf *Config, log *slog.Logger) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorders := func(name string) record.EventRecorder {
		return broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: name})
	}
	sched, err := New(client, factory, conf, recorders, log)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: informer for %v did not sync", typ)
		}
	}
	log.Info("scheduler started", "profiles", len(conf.Profiles))
	sched.Run(ctx)
	return nil
}

// runLeaderElected runs run during each leadership term until ctx ends.
func runLeaderElected(ctx context.Context, client kubernetes.Interface, conf *Config, o Options, run func(context.Context) error) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: conf.LeaseNamespace, Name: conf.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	for ctx.Err() == nil {
		// The callback only hands the term's context over; the term runs
		// here, so it is over when this loop goes on.
		terms := make(chan context.Context, 1)
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: conf.LeaseName, ReleaseOnCancel: true,
			LeaseDuration: conf.LeaseDuration, RenewDeadline: conf.RenewDeadline, RetryPeriod: conf.RetryPeriod,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(term context.Context) { terms <- term },
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return fmt.Errorf("scheduler leader election: %w", err)
		}
		electCtx, stopElection := context.WithCancel(ctx)
		elected := make(chan struct{})
		go func() {
			defer close(elected)
			le.Run(electCtx)
		}()
		var runErr error
		select {
		case term := <-terms:
			o.Logger.Info("scheduler: leading", "lease", conf.LeaseNamespace+"/"+conf.LeaseName, "identity", o.Identity)
			runErr = run(term)
			if runErr != nil {
				stopElection()
			}
			<-elected
			if ctx.Err() == nil {
				o.Logger.Warn("scheduler: lost leadership", "identity", o.Identity)
			}
		case <-elected:
		}
		stopElection()
		if runErr != nil && ctx.Err() == nil {
			return runErr
		}
	}
	return nil
}

// validateProfiles builds every profile once, so that bad plugin
// arguments fail Run before any election.
func validateProfiles(conf *Config) error {
	registry := plugins.NewRegistry()
	for _, p := range conf.Profiles {
		if _, err := framework.New(p, registry, framework.Env{Parallelism: 1}); err != nil {
			return err
		}
	}
	return nil
}
