package pods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	kuberecord "k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/envvars"
	"github.com/skiffhq/skiff/internal/agent/objcache"
	"github.com/skiffhq/skiff/internal/agent/prober"
	"github.com/skiffhq/skiff/internal/agent/volume"
)

// Intervals of the manager's loops.
const (
	// resyncInterval is how often every worker syncs without a reason.
	resyncInterval = 10 * time.Second
	// relistInterval is how often the runtime is listed to notice container
	// state changes (the kubelet's PLEG relist period).
	relistInterval = time.Second
	// orphanInterval is how often sandboxes and volumes of pods that are no
	// longer bound here are removed.
	orphanInterval = 30 * time.Second
)

// Options configure a Manager.
type Options struct {
	// NodeName is this node; NodeIP its address (the pods' hostIP).
	NodeName string
	NodeIP   string
	// Client talks to the API server with the agent's credentials.
	Client kubernetes.Interface
	// Runtime is the CRI runtime the containers run in.
	Runtime cri.Runtime
	// Volumes prepares pod volumes; it also owns the per-pod directory the
	// worker keeps its files in (etc-hosts, termination messages).
	Volumes *volume.Manager
	// Recorder receives the pod events (Pulling, Started, BackOff, …); nil
	// drops them.
	Recorder kuberecord.EventRecorder
	// PodLogDir holds container logs as
	// <dir>/<namespace>_<name>_<uid>/<container>/<restartCount>.log.
	PodLogDir string
	// ClusterDNS and ClusterDomain make the resolv.conf of ClusterFirst
	// pods. Without ClusterDNS those pods get the node's resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
	// HostResolvConf is the node's resolv.conf (default /etc/resolv.conf),
	// for dnsPolicy Default.
	HostResolvConf string
	// NodeAllocatable returns the node's allocatable resources (defaults
	// for resourceFieldRef, admission of new pods); nil means unknown.
	NodeAllocatable func() corev1.ResourceList
	// Node returns the latest Node object the agent has seen (read only),
	// nil when none yet; a nil Node reads it from the API when needed.
	Node func() *corev1.Node
	// StaticPodDir holds pod manifests (YAML or JSON) run without the API
	// server; "" disables static pods.
	StaticPodDir string
	// SeccompProfileRoot is where localhost seccomp profiles live
	// (default /var/lib/kubelet/seccomp).
	SeccompProfileRoot string
	// Probes runs probes; nil makes a new prober.Manager (run by Run). A
	// given one must call the Manager's Kick on result changes and be
	// started by the caller.
	Probes *prober.Manager
	// EnvSource reads ConfigMaps, Secrets and Services for environment
	// variables (an objcache.Cache in the agent); nil reads them from the
	// API with Client, a request per read.
	EnvSource envvars.Source
	// Log receives the manager's diagnostics; nil discards them.
	Log *slog.Logger
}

// Manager runs the pods bound to this node, one worker per pod UID.
type Manager struct {
	o      Options
	probes *prober.Manager
	// ownProbes: Run starts probes (NewManager made it).
	ownProbes bool
	statuses  *statusManager
	log       *slog.Logger
	recorder  kuberecord.EventRecorder
	env       envvars.Source

	// factory and informer watch the node's pods; Run starts them.
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	lister   corelisters.PodLister
	synced   cache.InformerSynced

	// admitMu guards admission; it is never held with mu.
	admitMu   sync.Mutex
	admission admission

	// mu guards workers and static.
	mu      sync.Mutex
	workers map[types.UID]*podWorker
	static  map[types.UID]*corev1.Pod
	// wg counts worker goroutines.
	wg sync.WaitGroup
	// runCtx is the context workers run under (set by Run; guarded by mu).
	runCtx context.Context
}

// NewManager checks the options and returns a Manager.
func NewManager(o Options) (*Manager, error) {
	switch {
	case o.NodeName == "":
		return nil, errors.New("pods: NodeName is required")
	case o.Client == nil:
		return nil, errors.New("pods: Client is required")
	case o.Runtime == nil:
		return nil, errors.New("pods: Runtime is required")
	case o.Volumes == nil:
		return nil, errors.New("pods: Volumes is required")
	case o.PodLogDir == "":
		return nil, errors.New("pods: PodLogDir is required")
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = "cluster.local"
	}
	if o.HostResolvConf == "" {
		o.HostResolvConf = "/etc/resolv.conf"
	}
	if o.SeccompProfileRoot == "" {
		o.SeccompProfileRoot = "/var/lib/kubelet/seccomp"
	}
	if o.NodeAllocatable == nil {
		o.NodeAllocatable = func() corev1.ResourceList { return nil }
	}
	m := &Manager{
		o:         o,
		log:       o.Log,
		recorder:  o.Recorder,
		env:       o.EnvSource,
		workers:   map[types.UID]*podWorker{},
		admission: admission{admitted: map[types.UID]bool{}},
		static:    map[types.UID]*corev1.Pod{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.recorder == nil {
		m.recorder = discardRecorder{}
	}
	if m.env == nil {
		m.env = objcache.Direct{Client: o.Client}
	}
	m.probes = o.Probes
	if m.probes == nil {
		m.probes = prober.NewManager(prober.Options{Runtime: o.Runtime, Recorder: m.recorder, OnChange: m.kick})
		m.ownProbes = true
	}
	m.factory = informers.NewSharedInformerFactoryWithOptions(o.Client, 0,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", o.NodeName).String()
		}))
	podInformer := m.factory.Core().V1().Pods()
	m.informer = podInformer.Informer()
	m.lister, m.synced = podInformer.Lister(), m.informer.HasSynced
	m.statuses = newStatusManager(o.Client, m.lister, m.log)
	return m, nil
}

// Probes returns the probe manager the workers use.
func (m *Manager) Probes() *prober.Manager { return m.probes }

// Run watches the pods bound to the node and runs them until ctx ends.
// Containers keep running when it returns; a new Manager carries on. Run
// may be called once.
func (m *Manager) Run(ctx context.Context) error {
	factory, informer := m.factory, m.informer
	m.mu.Lock()
	m.runCtx = ctx
	m.mu.Unlock()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.podChanged(obj) },
		UpdateFunc: func(_, obj any) { m.podChanged(obj) },
		DeleteFunc: func(obj any) { m.podChanged(obj) },
	}); err != nil {
		return fmt.Errorf("pods: watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		m.wg.Wait()
		return ctx.Err()
	}
	var loops sync.WaitGroup
	loopFuncs := []func(context.Context){m.statuses.run, m.relistLoop, m.orphanLoop, m.staticLoop}
	if m.ownProbes {
		loopFuncs = append(loopFuncs, func(ctx context.Context) { _ = m.probes.Start(ctx) })
	}
	for _, loop := range loopFuncs {
		loops.Add(1)
		go func() { defer loops.Done(); loop(ctx) }()
	}
	// Pods whose events arrived before the cache synced.
	pods, _ := m.lister.List(labels.Everything())
	for _, p := range pods {
		if !isMirror(p) {
			m.ensureWorker(p)
		}
	}
	<-ctx.Done()
	loops.Wait()
	m.wg.Wait()
	return nil
}

// Pods returns the pods this agent runs: those bound to the node and its
// static pods.
func (m *Manager) Pods() []*corev1.Pod {
	var out []*corev1.Pod
	pods, _ := m.lister.List(labels.Everything())
	for _, p := range pods {
		if !isMirror(p) {
			out = append(out, p.DeepCopy())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.static {
		if !containsUID(out, p.UID) {
			out = append(out, p.DeepCopy())
		}
	}
	return out
}

func containsUID(pods []*corev1.Pod, uid types.UID) bool {
	for _, p := range pods {
		if p.UID == uid {
			return true
		}
	}
	return false
}

// podChanged starts or wakes the worker of a pod the informer reports.
func (m *Manager) podChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || isMirror(pod) {
		return
	}
	if !m.synced() {
		return // Run starts the workers of the initial list.
	}
	m.ensureWorker(pod)
}

// ensureWorker wakes pod's worker, starting one if needed.
func (m *Manager) ensureWorker(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.runCtx.Err() != nil {
		return
	}
	w, ok := m.workers[pod.UID]
	if !ok {
		w = newPodWorker(m, pod)
		m.workers[pod.UID] = w
		m.wg.Add(1)
		go func() { defer m.wg.Done(); w.run(m.runCtx) }()
	}
	w.wake()
}

// Kick makes pod uid's worker sync now (for a probe manager's OnChange).
func (m *Manager) Kick(uid types.UID) { m.kick(uid) }

// ObjectChanged wakes the pods whose volumes project the ConfigMap or
// Secret namespace/name, so they see its new content without waiting for
// their next periodic sync.
func (m *Manager) ObjectChanged(kind objcache.Kind, namespace, name string) {
	pods, err := m.lister.Pods(namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, p := range pods {
		if volumesUse(p, kind, name) {
			m.kick(p.UID)
		}
	}
}

// volumesUse reports whether a volume of pod projects the ConfigMap or
// Secret name (of the pod's namespace).
func volumesUse(pod *corev1.Pod, kind objcache.Kind, name string) bool {
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil && kind == objcache.KindConfigMap && v.ConfigMap.Name == name,
			v.Secret != nil && kind == objcache.KindSecret && v.Secret.SecretName == name:
			return true
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil && kind == objcache.KindConfigMap && s.ConfigMap.Name == name ||
					s.Secret != nil && kind == objcache.KindSecret && s.Secret.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// kick wakes the worker of pod uid, if any (probe results, runtime events).
func (m *Manager) kick(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.workers[uid]; ok {
		w.wake()
	}
}

// workerDone forgets a worker that finished its pod.
func (m *Manager) workerDone(w *podWorker) {
	m.mu.Lock()
	if m.workers[w.uid] == w {
		delete(m.workers, w.uid)
	}
	m.mu.Unlock()
	m.forgetAdmitted(w.uid)
	m.statuses.forget(w.uid)
}

// hasWorker reports whether pod uid has a worker.
func (m *Manager) hasWorker(uid types.UID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.workers[uid]
	return ok
}

// podByUID finds the pod with uid in the informer (or the static pods).
func (m *Manager) podByUID(namespace, name string, uid types.UID) *corev1.Pod {
	m.mu.Lock()
	sp := m.static[uid]
	m.mu.Unlock()
	if sp != nil {
		// The mirror pod holds what was reported so far.
		p := sp.DeepCopy()
		if mirror := m.mirrorOf(sp); mirror != nil {
			p.Status = *mirror.Status.DeepCopy()
		}
		return p
	}
	p, err := m.lister.Pods(namespace).Get(name)
	if err != nil || p.UID != uid {
		return nil
	}
	return p
}

// podLogDir is the log directory of a pod's sandbox.
func (m *Manager) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(m.o.PodLogDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// knownUIDs are the pods the manager is responsible for right now.
func (m *Manager) knownUIDs() map[types.UID]bool {
	known := map[types.UID]bool{}
	pods, _ := m.lister.List(labels.Everything())
	for _, p := range pods {
		known[p.UID] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid := range m.workers {
		known[uid] = true
	}
	for uid := range m.static {
		known[uid] = true
	}
	return known
}

// discardRecorder drops events.
type discardRecorder struct{}

func (discardRecorder) Event(runtime.Object, string, string, string)          {}
func (discardRecorder) Eventf(runtime.Object, string, string, string, ...any) {}
func (discardRecorder) AnnotatedEventf(runtime.Object, map[string]string, string, string, string, ...any) {
}

// isStatic reports a static pod.
func (m *Manager) isStatic(uid types.UID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.static[uid]
	return ok
}
