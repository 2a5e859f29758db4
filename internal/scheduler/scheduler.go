package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/scheduler/cache"
	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	"github.com/skiffhq/skiff/internal/scheduler/queue"
)

// Scheduler places pending pods: it pops a pod from the queue, decides on
// a snapshot of the cache with the pod's profile, assumes the pod on the
// chosen node and binds it asynchronously.
type Scheduler struct {
	client      kubernetes.Interface
	informers   informers.SharedInformerFactory
	cache       *cache.Cache
	queue       *queue.Queue
	snapshot    *framework.Snapshot
	profiles    map[string]*framework.Framework
	recorders   map[string]record.EventRecorder
	parallelism framework.Parallelizer
	log         *slog.Logger

	// Owned by the scheduling goroutine: where the next cycle starts
	// looking at nodes, and the tie-breaking random source.
	nextStartNodeIndex int
	rng                *rand.Rand
	// statusBuf and feasibleBuf are filterNodes' scratch space, scoreBuf
	// the scores' (see RunScorePlugins), reused across cycles.
	statusBuf   []*framework.Status
	feasibleBuf []*framework.NodeInfo
	scoreBuf    []int64

	// async counts binding cycles and status updates in flight; they run
	// on workers, goroutines reused from one to the next.
	async   sync.WaitGroup
	workers *workerPool
}

// RecorderFactory returns the event recorder of a profile (scheduler name).
type RecorderFactory func(schedulerName string) record.EventRecorder

// New builds a scheduler on informers (not started yet: the caller starts
// the factory after New, which registers what it needs).
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, cfg *Config, recorders RecorderFactory, log *slog.Logger) (*Scheduler, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Scheduler{
		client: client, informers: factory, cache: cache.New(), snapshot: &framework.Snapshot{},
		profiles: map[string]*framework.Framework{}, recorders: map[string]record.EventRecorder{},
		parallelism: framework.NewParallelizer(cfg.Parallelism), log: log,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		workers: newWorkerPool(workerIdleTimeout, maxIdleWorkers),
	}
	events := map[string][]framework.ClusterEvent{}
	q := queue.New(queue.Options{InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff, PluginEvents: events})
	registry := plugins.NewRegistry()
	for _, p := range cfg.Profiles {
		rec := recorders(p.SchedulerName)
		fwk, err := framework.New(p, registry, framework.Env{
			Client: client, Recorder: rec, Informers: factory, Snapshot: s.snapshot,
			Nominator: q.Nominator(), Parallelism: cfg.Parallelism,
		})
		if err != nil {
			return nil, err
		}
		for name, evs := range fwk.EventsToRegister() {
			events[name] = evs
		}
		s.profiles[p.SchedulerName] = fwk
		s.recorders[p.SchedulerName] = rec
	}
	if len(s.profiles) == 0 {
		return nil, fmt.Errorf("scheduler: no profiles")
	}
	s.queue = q
	if err := s.addEventHandlers(); err != nil {
		return nil, err
	}
	return s, nil
}

// Run schedules until ctx ends, then waits for bindings in flight and
// for their workers to exit.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.workers.wait()
	defer s.workers.stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.queue.Run(ctx)
	}()
	for s.scheduleOne(ctx) {
	}
	wg.Wait()
	s.async.Wait()
}

// Cache exposes the scheduler's cache (tests, checks).
func (s *Scheduler) Cache() *cache.Cache { return s.cache }

// Queue exposes the scheduler's queue (tests, checks).
func (s *Scheduler) Queue() *queue.Queue { return s.queue }
