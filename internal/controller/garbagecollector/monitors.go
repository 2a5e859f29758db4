package garbagecollector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller"
)

// ignoredResources are never monitored: they churn a lot and nothing owns
// through them (upstream's default).
var ignoredResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// monitor watches one resource's metadata and feeds the graph.
type monitor struct {
	gvk      schema.GroupVersionKind
	informer cache.SharedIndexInformer
	stop     context.CancelFunc
	done     chan struct{}
}

// monitors are the running monitors by resource.
type monitors struct {
	// mu guards byResource.
	mu         sync.Mutex
	byResource map[schema.GroupVersionResource]*monitor
}

// deletableResources returns every served resource the collector can
// watch and delete, by its preferred version, with its kind. A partial
// discovery failure returns what was found and the groups that failed.
func deletableResources(d discovery.DiscoveryInterface) (map[schema.GroupVersionResource]schema.GroupVersionKind, map[schema.GroupVersion]bool, error) {
	lists, err := d.ServerPreferredResources()
	failed := map[schema.GroupVersion]bool{}
	if err != nil {
		var gerr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gerr) {
			return nil, nil, err
		}
		for gv := range gerr.Groups {
			failed[gv] = true
		}
	}
	out := map[schema.GroupVersionResource]schema.GroupVersionKind{}
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || ignoredResources[gv.WithResource(r.Name).GroupResource()] {
				continue
			}
			if !slices.Contains(r.Verbs, "delete") || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch") {
				continue
			}
			out[gv.WithResource(r.Name)] = gv.WithKind(r.Kind)
		}
	}
	return out, failed, nil
}

// sync starts monitors for new resources and stops those of resources no
// longer served (unless their group failed discovery). It reports whether
// anything changed.
func (c *Collector) syncMonitors(ctx context.Context) (bool, error) {
	want, failed, err := deletableResources(c.discovery)
	if err != nil {
		return false, err
	}
	c.mon.mu.Lock()
	defer c.mon.mu.Unlock()
	if ctx.Err() != nil {
		return false, nil // shutting down: start nothing more
	}
	changed := false
	for gvr, gvk := range want {
		if _, ok := c.mon.byResource[gvr]; ok {
			continue
		}
		c.mon.byResource[gvr] = c.startMonitor(ctx, gvr, gvk)
		changed = true
	}
	for gvr, m := range c.mon.byResource {
		if _, ok := want[gvr]; ok || failed[gvr.GroupVersion()] {
			continue
		}
		m.stop()
		<-m.done
		delete(c.mon.byResource, gvr)
		changed = true
	}
	return changed, nil
}

// startMonitor runs a metadata informer for gvr. Objects are stripped to
// what the graph needs before they are cached.
//
// Its list and watch requests carry the monitor's context. client-go's
// stock metadata informer sends them with context.TODO(): stopping it then
// leaves a list or a watch being opened in flight (for as long as a slow
// or stopping server takes to answer, without a timeout on this client),
// and the informer's goroutines with it.
func (c *Collector) startMonitor(ctx context.Context, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind) *monitor {
	mctx, stop := context.WithCancel(ctx)
	api := c.metadata.Resource(gvr).Namespace(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) { return api.List(mctx, o) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			return api.Watch(mctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	_ = inf.SetTransform(stripMetadata)
	apiVersion, kindName := gvk.GroupVersion().String(), gvk.Kind
	idOf := func(m metav1.Object) objectID {
		return objectID{APIVersion: apiVersion, Kind: kindName, Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUID()}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := controller.MetaOf(obj); ok {
				c.schedule(c.graph.observe(idOf(m), m))
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := controller.MetaOf(oldObj)
			m, ok2 := controller.MetaOf(obj)
			if ok1 && ok2 && old.GetResourceVersion() != m.GetResourceVersion() {
				c.schedule(c.graph.observe(idOf(m), m))
			}
		},
		DeleteFunc: func(obj any) {
			if m, ok := controller.MetaOf(obj); ok {
				c.schedule(c.graph.forget(m.GetUID()))
			}
		},
	})
	m := &monitor{gvk: gvk, informer: inf, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		inf.Run(mctx.Done())
	}()
	return m
}

// stopMonitors stops every monitor and waits for them.
func (c *Collector) stopMonitors() {
	c.mon.mu.Lock()
	defer c.mon.mu.Unlock()
	for gvr, m := range c.mon.byResource {
		m.stop()
		<-m.done
		delete(c.mon.byResource, gvr)
	}
}

// monitorsSynced reports whether every monitor has listed its resource.
func (c *Collector) monitorsSynced() bool {
	c.mon.mu.Lock()
	defer c.mon.mu.Unlock()
	if len(c.mon.byResource) == 0 {
		return false
	}
	for _, m := range c.mon.byResource {
		if !m.informer.HasSynced() {
			return false
		}
	}
	return true
}

// stripMetadata keeps only what the graph reads, so caching every object
// of every resource stays small.
func stripMetadata(obj any) (any, error) {
	p, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			DeletionTimestamp: p.DeletionTimestamp, Finalizers: p.Finalizers, OwnerReferences: p.OwnerReferences,
		},
	}, nil
}
