// Package nodelifecycle watches node health like kube-controller-manager's
// node-lifecycle-controller: a node whose agent renews neither its Lease in
// kube-node-lease nor its Ready condition's heartbeat within the grace
// period gets every node condition set to Unknown, and nodes are tainted
// from their conditions so the scheduler keeps off them and the taint
// eviction controller moves pods away.
//
//	node / lease / pod event ─► node key ─► Reconcile:
//	  1. health: did the lease renewTime or the Ready heartbeat change since
//	     last seen? then the node is healthy for another grace period
//	     (measured on this controller's clock, from when the change was seen)
//	  2. not healthy → Ready, MemoryPressure, DiskPressure, PIDPressure :=
//	     Unknown (NodeStatusUnknown, "Kubelet stopped posting node status.")
//	  3. taints from conditions (table in taints.go), others left alone
//	  4. Ready not True → pods on the node get Ready=False
//	  5. healthy → look again when the grace period would run out
//
// Glossary:
//
//   - probe time: when this controller last saw the node renew anything.
//     A node seen for the first time (new, or after a restart) gets the
//     current time, so a new node without a lease yet is not marked at
//     once.
//
// Zone disruption handling (upstream's eviction rate limits per zone and
// its "master disruption mode") is not implemented: unreachable nodes are
// tainted at once, whatever the share of unhealthy nodes.
package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// DefaultGracePeriod is upstream's --node-monitor-grace-period.
const DefaultGracePeriod = 40 * time.Second

// LeaseNamespace holds the nodes' heartbeat Leases, one per node, named
// after it.
const LeaseNamespace = corev1.NamespaceNodeLease

// Condition reasons and messages, upstream's.
const (
	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageNodeStatusUnknown     = "Kubelet stopped posting node status."
	MessageNodeStatusNever       = "Kubelet never posted node status."
	// ReasonNodeNotReady is the event on a node that stops being ready,
	// and on the pods marked not ready.
	ReasonNodeNotReady = "NodeNotReady"
)

// monitoredConditions are set to Unknown when a node stops reporting.
var monitoredConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// Config tunes the controller; zero values mean the defaults.
type Config struct {
	// GracePeriod is how long a node may renew neither its lease nor its
	// status before it is marked Unknown.
	GracePeriod time.Duration
}

// nodeHealth is what the controller last saw a node renew.
type nodeHealth struct {
	heartbeat time.Time // Ready condition's lastHeartbeatTime
	renew     time.Time // lease spec.renewTime
	probe     time.Time // local time the last change was seen
}

// Controller is the node lifecycle controller.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	leases   coordlisters.LeaseLister
	pods     cache.Indexer
	runner   *controller.Runner
	recorder record.EventRecorder
	log      *slog.Logger
	grace    time.Duration
	now      func() time.Time

	// mu guards health.
	mu     sync.Mutex
	health map[string]*nodeHealth
}

// New builds the controller on c's informers.
func New(c *controller.Context, cfg Config) (*Controller, error) {
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	nodes := c.Informers.Core().V1().Nodes()
	leases := c.Informers.Coordination().V1().Leases()
	pods := c.Informers.Core().V1().Pods()
	if err := controller.IndexPodsByNode(pods.Informer()); err != nil {
		return nil, err
	}
	ctl := &Controller{
		client: c.Client, nodes: nodes.Lister(), leases: leases.Lister(), pods: pods.Informer().GetIndexer(),
		recorder: c.Recorder("node-controller"), log: c.Logger("nodelifecycle"),
		grace: cfg.GracePeriod, now: time.Now, health: map[string]*nodeHealth{},
	}
	ctl.runner = controller.NewRunner("nodelifecycle", controller.ReconcilerFunc(ctl.Reconcile),
		controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.Informer().HasSynced)
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{nodes.Informer(), controller.EnqueueHandler(ctl.runner, nil)},
		{leases.Informer(), controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
			return m.GetNamespace() == LeaseNamespace
		})},
		{pods.Informer(), readyPodHandler(ctl.runner)},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("event handler: %w", err)
		}
	}
	return ctl, nil
}

// Run reconciles nodes until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile converges the node named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.health, key)
		c.mu.Unlock()
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	healthy, left := c.observe(node)
	if !healthy {
		if node, err = c.markUnknown(ctx, node); err != nil {
			return controller.Result{}, err
		}
	}
	if err := c.syncTaints(ctx, node); err != nil {
		return controller.Result{}, err
	}
	if ready := nodeCondition(node, corev1.NodeReady); ready != nil && ready.Status != corev1.ConditionTrue {
		if err := c.markPodsNotReady(ctx, node); err != nil {
			return controller.Result{}, err
		}
	}
	if healthy {
		// Look again just after the grace period would run out.
		return controller.Result{RequeueAfter: left + 10*time.Millisecond}, nil
	}
	return controller.Result{}, nil
}

// observe records what node has renewed and reports whether it renewed
// something within the grace period, and if so how long is left of it.
func (c *Controller) observe(node *corev1.Node) (bool, time.Duration) {
	var heartbeat, renew time.Time
	if ready := nodeCondition(node, corev1.NodeReady); ready != nil {
		heartbeat = ready.LastHeartbeatTime.Time
	}
	if lease, err := c.leases.Leases(LeaseNamespace).Get(node.Name); err == nil && lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health[node.Name]
	switch {
	case h == nil:
		h = &nodeHealth{heartbeat: heartbeat, renew: renew, probe: now}
		c.health[node.Name] = h
	case !heartbeat.Equal(h.heartbeat) || renew.After(h.renew):
		h.heartbeat, h.renew, h.probe = heartbeat, renew, now
	}
	left := h.probe.Add(c.grace).Sub(now)
	return left > 0, left
}

// markUnknown sets the monitored conditions to Unknown, keeping their
// heartbeats, and returns the updated node (node itself when nothing
// changed).
func (c *Controller) markUnknown(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	now := metav1.NewTime(c.now())
	out := node.DeepCopy()
	changed := false
	for _, t := range monitoredConditions {
		cond := nodeCondition(out, t)
		switch {
		case cond == nil:
			out.Status.Conditions = append(out.Status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown,
				Reason: ReasonNodeStatusNeverUpdated, Message: MessageNodeStatusNever,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: now,
			})
			changed = true
		case cond.Status != corev1.ConditionUnknown:
			cond.Status, cond.Reason, cond.Message = corev1.ConditionUnknown, ReasonNodeStatusUnknown, MessageNodeStatusUnknown
			cond.LastTransitionTime = now
			changed = true
		}
	}
	if !changed {
		return node, nil
	}
	updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("mark node %s unknown: %w", node.Name, err)
	}
	// Our own write is no heartbeat of the node's.
	c.mu.Lock()
	if h := c.health[node.Name]; h != nil {
		h.heartbeat = nodeCondition(updated, corev1.NodeReady).LastHeartbeatTime.Time
	}
	c.mu.Unlock()
	if ready := nodeCondition(node, corev1.NodeReady); ready != nil && ready.Status == corev1.ConditionTrue {
		c.recorder.Eventf(updated, corev1.EventTypeNormal, ReasonNodeNotReady, "Node %s status is now: %s", node.Name, ReasonNodeNotReady)
	}
	c.log.Info("node stopped reporting; conditions set to Unknown", "node", node.Name, "gracePeriod", c.grace)
	return updated, nil
}

// nodeCondition returns node's condition of type t, or nil.
func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}
