// Package podgc deletes pods nobody else will: finished pods beyond a
// threshold (oldest first), pods bound to nodes that no longer exist,
// unscheduled pods that are being deleted, and terminating pods on nodes
// marked out of service. It runs periodically over the pod cache.
package podgc

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller"
)

// Defaults, upstream's.
const (
	DefaultTerminatedPodThreshold = 12500
	DefaultPeriod                 = 20 * time.Second
	DefaultQuarantine             = 40 * time.Second
	// deleteParallelism bounds concurrent deletes of one pass.
	deleteParallelism = 50
)

// Reasons of the DisruptionTarget condition set before deleting a pod.
const (
	ReasonDeletionByPodGC = "DeletionByPodGC"
	messageNodeGone       = "PodGC: node no longer exists"
	messageOutOfService   = "PodGC: node is out-of-service"
)

// TaintOutOfService marks a node whose pods may be force deleted.
const TaintOutOfService = "node.kubernetes.io/out-of-service"

// Config tunes the pod GC; zero values mean the defaults.
type Config struct {
	// TerminatedPodThreshold is how many Succeeded/Failed pods may exist;
	// negative disables deleting them.
	TerminatedPodThreshold int
	// Period is the time between passes.
	Period time.Duration
	// Quarantine is how long a node must be missing before its pods go.
	Quarantine time.Duration
}

// Controller is the pod garbage collector.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	synced []cache.InformerSynced
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	// missingSince records when each node name was first seen missing; only
	// the Run goroutine touches it.
	missingSince map[string]time.Time
}

// New builds the pod GC on c's informers.
func New(c *controller.Context, cfg Config) *Controller {
	if cfg.TerminatedPodThreshold == 0 {
		cfg.TerminatedPodThreshold = DefaultTerminatedPodThreshold
	}
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	pods := c.Informers.Core().V1().Pods()
	nodes := c.Informers.Core().V1().Nodes()
	return &Controller{
		client: c.Client, pods: pods.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		cfg:    cfg, log: c.Logger("podgc"), now: time.Now, missingSince: map[string]time.Time{},
	}
}

// Run runs a pass every period until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	t := time.NewTicker(c.cfg.Period)
	defer t.Stop()
	for {
		c.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// pass runs every collection once.
func (c *Controller) pass(ctx context.Context) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		c.log.Warn("list pods", "err", err)
		return
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		c.log.Warn("list nodes", "err", err)
		return
	}
	nodeByName := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		nodeByName[n.Name] = n
	}
	if c.cfg.TerminatedPodThreshold > 0 {
		c.deleteAll(ctx, c.terminatedOverThreshold(pods), "")
	}
	c.deleteAll(ctx, c.terminatingOutOfService(pods, nodeByName), messageOutOfService)
	c.deleteAll(ctx, c.orphaned(ctx, pods, nodeByName), messageNodeGone)
	c.deleteAll(ctx, unscheduledTerminating(pods), "")
}

// terminatedOverThreshold returns the oldest finished pods beyond the
// threshold.
func (c *Controller) terminatedOverThreshold(pods []*corev1.Pod) []*corev1.Pod {
	var done []*corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			done = append(done, p)
		}
	}
	excess := len(done) - c.cfg.TerminatedPodThreshold
	if excess <= 0 {
		return nil
	}
	// Evicted pods first, then oldest first.
	slices.SortFunc(done, func(a, b *corev1.Pod) int {
		if ea, eb := a.Status.Reason == "Evicted", b.Status.Reason == "Evicted"; ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	return done[:excess]
}

// orphaned returns pods bound to nodes that have been missing (in the cache
// and, checked live, in the API) for longer than the quarantine.
func (c *Controller) orphaned(ctx context.Context, pods []*corev1.Pod, nodes map[string]*corev1.Node) []*corev1.Pod {
	now := c.now()
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || nodes[p.Spec.NodeName] != nil {
			continue
		}
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
	}
	for name := range c.missingSince {
		if _, ok := byNode[name]; !ok {
			delete(c.missingSince, name)
		}
	}
	var out []*corev1.Pod
	for name, ps := range byNode {
		since, ok := c.missingSince[name]
		if !ok {
			c.missingSince[name] = now
			continue
		}
		if now.Sub(since) < c.cfg.Quarantine {
			continue
		}
		if _, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			continue // it exists after all (the cache lags), or we cannot tell
		}
		out = append(out, ps...)
	}
	return out
}

// terminatingOutOfService returns terminating pods on not-ready nodes
// tainted out-of-service.
func (c *Controller) terminatingOutOfService(pods []*corev1.Pod, nodes map[string]*corev1.Node) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		n := nodes[p.Spec.NodeName]
		if n == nil || nodeReady(n) || !hasTaint(n, TaintOutOfService) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// unscheduledTerminating returns pods being deleted that no node will ever
// stop.
func unscheduledTerminating(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			out = append(out, p)
		}
	}
	return out
}

// deleteAll force deletes pods, 50 at a time. With a message, a pod that has
// not finished is first marked Failed with a DisruptionTarget condition, as
// upstream does.
func (c *Controller) deleteAll(ctx context.Context, pods []*corev1.Pod, message string) {
	sem := make(chan struct{}, deleteParallelism)
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.forceDelete(ctx, p, message); err != nil && !apierrors.IsNotFound(err) {
				c.log.Warn("delete pod", "pod", p.Namespace+"/"+p.Name, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (c *Controller) forceDelete(ctx context.Context, p *corev1.Pod, message string) error {
	if message != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		failed := p.DeepCopy()
		failed.Status.Phase = corev1.PodFailed
		setCondition(failed, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: ReasonDeletionByPodGC, Message: message, LastTransitionTime: metav1.NewTime(c.now()),
		})
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, failed, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	zero := int64(0)
	uid := p.UID
	c.log.Info("deleting pod", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName, "phase", p.Status.Phase)
	return c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
}

func setCondition(p *corev1.Pod, cond corev1.PodCondition) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == cond.Type {
			p.Status.Conditions[i] = cond
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, cond)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
