// Package garbagecollector deletes objects whose owners are gone and
// carries out the foreground and orphan deletion policies, for every served
// resource that can be listed, watched and deleted.
//
//	discovery (every 30s) ─► one metadata informer ("monitor") per resource
//	                               │ add / update / delete
//	                               ▼
//	                         ownership graph: uid ─► owners, dependents,
//	                         deleting, deleting-dependents; owners not yet
//	                         seen are "virtual" nodes until checked
//	                               │
//	          ┌────────────────────┴─────────────────────┐
//	          ▼                                          ▼
//	attempt-to-delete queue                      attempt-to-orphan queue
//	 - virtual node: does it exist? if not,       - remove the owner's
//	   its dependents lost an owner                 ownerReference from each
//	 - owner in foreground deletion: wait for       dependent, then the
//	   blocking dependents, then drop the           "orphan" finalizer
//	   foregroundDeletion finalizer
//	 - dependent: look its owners up live; no
//	   owner left → delete it (policy from its own
//	   finalizers); some left → drop the dead refs
//
// Glossary: a dangling ownerReference names an object that does not exist
// (or exists with another UID); a solid one names a live owner not being
// deleted in the foreground; a blocking one has blockOwnerDeletion=true,
// which makes a foreground deletion of the owner wait for the dependent.
package garbagecollector

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"

	"github.com/skiffhq/skiff/internal/controller"
)

// DefaultDiscoveryPeriod is how often served resources are rediscovered.
const DefaultDiscoveryPeriod = 30 * time.Second

// Config tunes the collector; zero values mean the defaults.
type Config struct {
	// DiscoveryPeriod is the time between looks for new resources.
	DiscoveryPeriod time.Duration
}

// Collector is the garbage collector.
type Collector struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	graph     *graph
	mon       monitors
	absent    *absentOwners
	deleter   *controller.Runner
	orphaner  *controller.Runner
	cfg       Config
	log       *slog.Logger
}

// New builds the collector. It runs four times the configured workers on
// deletions, like upstream's 20 against 5.
func New(c *controller.Context, cfg Config) *Collector {
	if cfg.DiscoveryPeriod <= 0 {
		cfg.DiscoveryPeriod = DefaultDiscoveryPeriod
	}
	gc := &Collector{
		metadata: c.Metadata, discovery: c.Discovery,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Discovery)),
		graph:  newGraph(), mon: monitors{byResource: map[schema.GroupVersionResource]*monitor{}},
		absent: newAbsentOwners(absentOwnersSize), cfg: cfg, log: c.Logger("garbagecollector"),
	}
	gc.deleter = controller.NewRunner("garbagecollector-delete", controller.ReconcilerFunc(gc.attemptToDelete),
		controller.RunnerOptions{Workers: 4 * c.Workers, Log: gc.log})
	gc.orphaner = controller.NewRunner("garbagecollector-orphan", controller.ReconcilerFunc(gc.attemptToOrphan),
		controller.RunnerOptions{Workers: c.Workers, Log: gc.log})
	gc.deleter.WaitFor(gc.monitorsSynced)
	gc.orphaner.WaitFor(gc.monitorsSynced)
	return gc
}

// Run discovers resources, runs the monitors and workers, and rediscovers
// periodically until ctx ends.
func (gc *Collector) Run(ctx context.Context) error {
	defer gc.stopMonitors()
	for {
		_, err := gc.syncMonitors(ctx)
		if err == nil {
			break
		}
		gc.log.Warn("discover resources", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	done := make(chan struct{}, 2)
	go func() { _ = gc.deleter.Run(ctx); done <- struct{}{} }()
	go func() { _ = gc.orphaner.Run(ctx); done <- struct{}{} }()
	defer func() { <-done; <-done }()

	t := time.NewTicker(gc.cfg.DiscoveryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		gc.mapper.Reset()
		if changed, err := gc.syncMonitors(ctx); err != nil {
			gc.log.Warn("rediscover resources", "err", err)
		} else if changed {
			gc.log.Info("monitored resources changed")
		}
	}
}

// schedule queues the work a graph change asks for.
func (gc *Collector) schedule(w work) {
	for _, uid := range w.attemptDelete {
		gc.deleter.Enqueue(string(uid))
	}
	for _, uid := range w.attemptOrphan {
		gc.orphaner.Enqueue(string(uid))
	}
}

// uidOf converts a queue key back.
func uidOf(key string) types.UID { return types.UID(key) }
