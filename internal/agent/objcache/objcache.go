// Package objcache serves the API objects a node's pods read while they
// run — the ConfigMaps and Secrets behind their volumes and environment,
// and the Services behind service-link variables — from watches instead of
// a request per read.
//
// A ConfigMap or Secret is watched on its own (a list and watch with a
// metadata.name field selector, like the kubelet's watch-based secret and
// configmap managers) from its first read until nobody has read it for
// IdleTimeout; pod workers read theirs on every sync, so the objects of
// running pods stay watched. Services are one informer over all
// namespaces. Until a watch has listed, reads go to the API, so a first
// read returns the same object or error a direct read would.
package objcache

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// DefaultIdleTimeout is how long an object nobody reads stays watched.
const DefaultIdleTimeout = 5 * time.Minute

// Kind is what an object is: ConfigMap or Secret.
type Kind string

const (
	KindConfigMap Kind = "ConfigMap"
	KindSecret    Kind = "Secret"
)

// Options configures a Cache.
type Options struct {
	Client kubernetes.Interface
	// OnChange is called (from a watch goroutine; it must not block) when
	// a watched object is created, changed or deleted after its watch
	// listed, so the
	// pods using it can refresh their volumes at once. Nil: nobody is told.
	OnChange func(kind Kind, namespace, name string)
	// IdleTimeout: see DefaultIdleTimeout (used when zero).
	IdleTimeout time.Duration
}

// Cache serves ConfigMaps, Secrets and Services. The objects it returns
// are shared: callers must not modify them. Run must be running for the
// Services informer and the idle sweep; reads work without it.
type Cache struct {
	o Options

	// mu guards watches and ctx.
	mu      sync.Mutex
	watches map[key]*objectWatch
	ctx     context.Context

	services       corelisters.ServiceLister
	servicesSynced cache.InformerSynced
	factory        informers.SharedInformerFactory
}

type key struct {
	kind      Kind
	namespace string
	name      string
}

// objectWatch follows one object.
type objectWatch struct {
	store    cache.Store
	synced   cache.InformerSynced
	stop     context.CancelFunc
	lastRead time.Time
}

// New makes a Cache; Run starts its watches.
func New(o Options) *Cache {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	c := &Cache{o: o, watches: map[key]*objectWatch{}}
	c.factory = informers.NewSharedInformerFactory(o.Client, 0)
	svc := c.factory.Core().V1().Services()
	c.services, c.servicesSynced = svc.Lister(), svc.Informer().HasSynced
	return c
}

// Run serves until ctx ends, then stops every watch.
func (c *Cache) Run(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	tick := time.NewTicker(c.o.IdleTimeout / 5)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for k, w := range c.watches {
				w.stop()
				delete(c.watches, k)
			}
			c.mu.Unlock()
			return nil
		case now := <-tick.C:
			c.sweep(now)
		}
	}
}

// sweep stops the watches nobody read for IdleTimeout.
func (c *Cache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, w := range c.watches {
		if now.Sub(w.lastRead) > c.o.IdleTimeout {
			w.stop()
			delete(c.watches, k)
		}
	}
}

// ConfigMap returns namespace/name, or the API's NotFound error.
func (c *Cache) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	obj, err := c.get(ctx, key{KindConfigMap, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ConfigMap), nil
}

// Secret returns namespace/name, or the API's NotFound error.
func (c *Cache) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, err := c.get(ctx, key{KindSecret, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

// Services returns the services of namespace.
func (c *Cache) Services(ctx context.Context, namespace string) ([]*corev1.Service, error) {
	if c.servicesSynced() {
		return c.services.Services(namespace).List(labels.Everything())
	}
	return Direct{c.o.Client}.Services(ctx, namespace)
}

// get serves k from its watch once that has listed, from the API before.
func (c *Cache) get(ctx context.Context, k key) (runtime.Object, error) {
	w := c.watch(k)
	if w != nil && w.synced() {
		obj, ok, err := w.store.GetByKey(k.namespace + "/" + k.name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, apierrors.NewNotFound(resourceOf(k.kind), k.name)
		}
		return obj.(runtime.Object), nil
	}
	if k.kind == KindConfigMap {
		return Direct{c.o.Client}.ConfigMap(ctx, k.namespace, k.name)
	}
	return Direct{c.o.Client}.Secret(ctx, k.namespace, k.name)
}

// watch returns k's watch, starting it if needed; nil before Run.
func (c *Cache) watch(k key) *objectWatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || c.ctx.Err() != nil {
		return nil
	}
	if w, ok := c.watches[k]; ok {
		w.lastRead = time.Now()
		return w
	}
	ctx, stop := context.WithCancel(c.ctx)
	w := &objectWatch{stop: stop, lastRead: time.Now()}
	lw, example := c.listWatch(ctx, k)
	// Handlers run under the informer's queue lock: they must not ask it
	// whether it has synced. An add outside the initial list is a change
	// (the object was created while watched).
	changed := func() {
		if c.o.OnChange != nil {
			c.o.OnChange(k.kind, k.namespace, k.name)
		}
	}
	store, controller := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: example,
		Handler: cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(_ any, initial bool) {
				if !initial {
					changed()
				}
			},
			UpdateFunc: func(any, any) { changed() },
			DeleteFunc: func(any) { changed() },
		},
	})
	w.store, w.synced = store, controller.HasSynced
	go controller.Run(ctx.Done())
	c.watches[k] = w
	return w
}

// listWatch lists and watches the one object k names.
func (c *Cache) listWatch(ctx context.Context, k key) (cache.ListerWatcher, runtime.Object) {
	sel := fields.OneTermEqualSelector("metadata.name", k.name).String()
	named := func(o metav1.ListOptions) metav1.ListOptions { o.FieldSelector = sel; return o }
	if k.kind == KindConfigMap {
		api := c.o.Client.CoreV1().ConfigMaps(k.namespace)
		return &cache.ListWatch{
			ListFunc:  func(o metav1.ListOptions) (runtime.Object, error) { return api.List(ctx, named(o)) },
			WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return api.Watch(ctx, named(o)) },
		}, &corev1.ConfigMap{}
	}
	api := c.o.Client.CoreV1().Secrets(k.namespace)
	return &cache.ListWatch{
		ListFunc:  func(o metav1.ListOptions) (runtime.Object, error) { return api.List(ctx, named(o)) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return api.Watch(ctx, named(o)) },
	}, &corev1.Secret{}
}

func resourceOf(k Kind) schema.GroupResource {
	if k == KindConfigMap {
		return schema.GroupResource{Resource: "configmaps"}
	}
	return schema.GroupResource{Resource: "secrets"}
}
