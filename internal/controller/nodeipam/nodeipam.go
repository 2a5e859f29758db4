// Package nodeipam gives every Node a pod CIDR (spec.podCIDR and
// spec.podCIDRs) cut from the cluster CIDR, like kube-controller-manager's
// node-ipam-controller with the range allocator.
//
//	start: caches synced ─► every node's podCIDR inside the cluster CIDR is
//	                        marked used (so a restart never double-allocates)
//	node key ─► Reconcile:
//	   node gone            → release its range, retry nodes waiting for one
//	   has podCIDRs inside  → mark them used (keeps what the node has)
//	   has podCIDRs outside → leave alone, event CIDROutOfRange
//	   has none             → lowest free range, patch spec.podCIDR(s);
//	                          none free → event CIDRNotAvailable, retry later
//
// A range chosen for a node stays reserved for it until the node has it,
// is deleted, or turns out to hold another CIDR, so a patch whose answer
// was lost cannot hand the same range to two nodes.
package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// Defaults of the flags, skiff's (upstream has no default cluster CIDR).
const (
	DefaultClusterCIDR      = "10.42.0.0/16"
	DefaultNodeCIDRMaskSize = 24
	// DefaultRetryPeriod is how long a node waits for a free range before
	// trying again (a released range retries waiting nodes at once).
	DefaultRetryPeriod = 30 * time.Second
)

// Event reasons on nodes.
const (
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	ReasonCIDROutOfRange   = "CIDROutOfRange"
)

// Config tunes the controller; zero values mean the defaults.
type Config struct {
	// ClusterCIDR is the range node pod CIDRs are cut from (IPv4 or IPv6).
	ClusterCIDR string
	// NodeCIDRMaskSize is the prefix length of each node's range.
	NodeCIDRMaskSize int
	// RetryPeriod is how often a node without a range tries again.
	RetryPeriod time.Duration
}

func (c Config) withDefaults() Config {
	if c.ClusterCIDR == "" {
		c.ClusterCIDR = DefaultClusterCIDR
	}
	if c.NodeCIDRMaskSize == 0 {
		c.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	return c
}

// Validate checks the cluster CIDR and mask size (after defaults).
func (c Config) Validate() error {
	_, err := c.withDefaults().cidrSet()
	return err
}

func (c Config) cidrSet() (*cidrSet, error) {
	p, err := netip.ParsePrefix(c.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr %q: %w", c.ClusterCIDR, err)
	}
	s, err := newCIDRSet(p, c.NodeCIDRMaskSize)
	if err != nil {
		return nil, fmt.Errorf("--node-cidr-mask-size: %w", err)
	}
	return s, nil
}

// Controller is the node IPAM controller.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	synced   cache.InformerSynced
	runner   *controller.Runner
	recorder record.EventRecorder
	log      *slog.Logger
	retry    time.Duration

	// mu guards set, byNode, waiting and warned.
	mu  sync.Mutex
	set *cidrSet
	// byNode is the ranges each node holds or has reserved.
	byNode map[string][]int
	// waiting is the nodes that found no free range.
	waiting map[string]bool
	// warned is the nodes told their CIDR is outside the cluster CIDR.
	warned map[string]bool
}

// New builds the controller on c's informers; cfg must be valid.
func New(c *controller.Context, cfg Config) (*Controller, error) {
	cfg = cfg.withDefaults()
	set, err := cfg.cidrSet()
	if err != nil {
		return nil, err
	}
	nodes := c.Informers.Core().V1().Nodes()
	ctl := &Controller{
		client: c.Client, nodes: nodes.Lister(), synced: nodes.Informer().HasSynced,
		recorder: c.Recorder("cidrAllocator"), log: c.Logger("nodeipam"), retry: cfg.RetryPeriod,
		set: set, byNode: map[string][]int{}, waiting: map[string]bool{}, warned: map[string]bool{},
	}
	ctl.runner = controller.NewRunner("nodeipam", controller.ReconcilerFunc(ctl.Reconcile),
		controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(ctl.synced)
	if _, err := nodes.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil)); err != nil {
		return nil, fmt.Errorf("node handler: %w", err)
	}
	return ctl, nil
}

// Run marks the ranges of existing nodes used, then allocates until ctx
// ends.
func (c *Controller) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	c.mu.Lock()
	for _, n := range nodes {
		c.occupyLocked(n, false)
	}
	c.mu.Unlock()
	return c.runner.Run(ctx)
}

// Reconcile gives the node named key a range, or releases a deleted
// node's.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		c.release(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if len(node.Spec.PodCIDRs) > 0 || node.Spec.PodCIDR != "" {
		c.mu.Lock()
		c.occupyLocked(node, true)
		c.mu.Unlock()
		return controller.Result{}, nil
	}
	cidr, ok, first := c.reserve(node.Name)
	if !ok {
		// Told once per wait: with the cluster CIDR exhausted, every
		// update of every waiting node (and every retry) would repeat it.
		if first {
			c.recorder.Eventf(node, corev1.EventTypeWarning, ReasonCIDRNotAvailable, "Node %s status is now: %s", node.Name, ReasonCIDRNotAvailable)
			c.log.Warn("no free pod CIDR for node; it waits for a range to be released", "node", node.Name)
		}
		return controller.Result{RequeueAfter: c.retry}, nil
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}}})
	if err != nil {
		return controller.Result{}, err
	}
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			c.release(node.Name)
			return controller.Result{}, nil
		}
		// The range stays reserved: the next pass sees what the node holds.
		return controller.Result{}, fmt.Errorf("set podCIDR %s on node %s: %w", cidr, node.Name, err)
	}
	c.log.Info("assigned pod CIDR", "node", node.Name, "podCIDR", cidr)
	return controller.Result{}, nil
}

// reserve returns the range held for node, taking the lowest free one when
// it holds none. Without one, first reports whether node just started
// waiting.
func (c *Controller) reserve(node string) (cidr string, ok, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx := c.byNode[node]; len(idx) > 0 {
		return c.set.prefix(idx[0]).String(), true, false
	}
	i, ok := c.set.allocate(node)
	if !ok {
		first = !c.waiting[node]
		c.waiting[node] = true
		return "", false, first
	}
	delete(c.waiting, node)
	c.byNode[node] = []int{i}
	return c.set.prefix(i).String(), true, false
}

// occupyLocked records the ranges node's podCIDRs overlap as its own,
// dropping any other reservation. With events it tells the node when its
// CIDR lies outside the cluster CIDR.
func (c *Controller) occupyLocked(node *corev1.Node, events bool) {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 {
		cidrs = []string{node.Spec.PodCIDR}
	}
	var held []int
	var outside string
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().BitLen() != c.set.cluster.Addr().BitLen() {
			continue // another family: not ours to manage
		}
		idx, err := c.set.indices(p)
		if err != nil {
			outside = s
			continue
		}
		for _, i := range idx {
			if o := c.set.owner[i]; o != "" && o != node.Name {
				c.log.Warn("pod CIDR overlaps another node's", "node", node.Name, "podCIDR", s, "other", o)
				continue
			}
			c.set.owner[i] = node.Name
			held = append(held, i)
		}
	}
	var dropped []int
	for _, i := range c.byNode[node.Name] {
		if !slices.Contains(held, i) {
			dropped = append(dropped, i)
		}
	}
	c.set.free(node.Name, dropped)
	c.setHeldLocked(node.Name, held)
	delete(c.waiting, node.Name)
	if outside != "" && len(held) == 0 && events && !c.warned[node.Name] {
		c.warned[node.Name] = true
		c.recorder.Eventf(node, corev1.EventTypeWarning, ReasonCIDROutOfRange,
			"Node %s has podCIDR %s outside the cluster CIDR %s; left as it is", node.Name, outside, c.set.cluster)
	}
	if len(dropped) > 0 {
		c.retryWaitingLocked()
	}
}

// release frees a deleted node's ranges and retries the nodes waiting for
// one.
func (c *Controller) release(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.waiting, node)
	delete(c.warned, node)
	idx := c.byNode[node]
	if len(idx) == 0 {
		return
	}
	c.set.free(node, idx)
	delete(c.byNode, node)
	c.log.Info("released pod CIDR", "node", node, "podCIDR", c.set.prefix(idx[0]).String())
	c.retryWaitingLocked()
}

func (c *Controller) setHeldLocked(node string, held []int) {
	if len(held) == 0 {
		delete(c.byNode, node)
		return
	}
	c.byNode[node] = held
}

func (c *Controller) retryWaitingLocked() {
	for name := range c.waiting {
		c.runner.Enqueue(name)
	}
}
