// Package taineviction deletes pods from nodes with NoExecute taints they
// do not tolerate, like kube-controller-manager's taint-eviction-controller.
//
//	pod event, or a node's NoExecute taints change (all its pods) ─► pod key
//	  ─► Reconcile:
//	     pod gone, terminating or unbound      → nothing (forget it)
//	     a NoExecute taint it does not tolerate → delete now
//	     every taint tolerated for ever        → nothing (cancel a pending one)
//	     tolerated for tolerationSeconds       → delete at the earliest
//	                                             start + seconds over the taints,
//	                                             requeue until then
//
// A taint's start is its timeAdded (or when this controller first saw it,
// for taints without one), but never before the pod was created, so a
// restart of the controller changes nothing. Deletes go through the API
// with the pod's own grace period, after a DisruptionTarget condition.
package taineviction

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// Name is the controller's upstream name (--controllers, event source).
const Name = "taint-eviction-controller"

// Event and condition texts, upstream's.
const (
	ReasonTaintManagerEviction = "TaintManagerEviction"
	ReasonDeletionByTaint      = "DeletionByTaintManager"
	messageDisruption          = "Taint manager: deleting due to NoExecute taint"
)

// Controller is the taint eviction controller.
type Controller struct {
	client   kubernetes.Interface
	pods     corelisters.PodLister
	podIndex cache.Indexer
	nodes    corelisters.NodeLister
	runner   *controller.Runner
	recorder record.EventRecorder
	log      *slog.Logger
	now      func() time.Time

	// mu guards scheduled and firstSeen.
	mu sync.Mutex
	// scheduled is the pods waiting out a tolerationSeconds, by key.
	scheduled map[string]time.Time
	// firstSeen is when NoExecute taints without timeAdded were first
	// seen, by node and taint.
	firstSeen map[string]map[string]time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) (*Controller, error) {
	pods := c.Informers.Core().V1().Pods()
	nodes := c.Informers.Core().V1().Nodes()
	if err := controller.IndexPodsByNode(pods.Informer()); err != nil {
		return nil, err
	}
	ctl := &Controller{
		client: c.Client, pods: pods.Lister(), podIndex: pods.Informer().GetIndexer(), nodes: nodes.Lister(),
		recorder: c.Recorder(Name), log: c.Logger(Name), now: time.Now,
		scheduled: map[string]time.Time{}, firstSeen: map[string]map[string]time.Time{},
	}
	ctl.runner = controller.NewRunner(Name, controller.ReconcilerFunc(ctl.Reconcile),
		controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(pods.Informer().HasSynced, nodes.Informer().HasSynced)
	podHandler := controller.EnqueueHandler(ctl.runner, func(m metav1.Object) bool {
		p, ok := m.(*corev1.Pod)
		return !ok || p.Spec.NodeName != ""
	})
	if _, err := pods.Informer().AddEventHandler(podHandler); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ctl.nodeChanged(nil, obj) },
		UpdateFunc: ctl.nodeChanged,
		DeleteFunc: func(obj any) { ctl.nodeGone(obj) },
	}); err != nil {
		return nil, fmt.Errorf("node handler: %w", err)
	}
	return ctl, nil
}

// Run reconciles pods until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Reconcile evicts the pod named key when its node's NoExecute taints say
// so, or looks again when a toleration runs out.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" {
		c.forget(key)
		return controller.Result{}, nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		c.forget(key) // the pod GC's business
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	at, ok := c.evictionTime(pod, node)
	if !ok {
		c.cancel(pod, key)
		return controller.Result{}, nil
	}
	if wait := at.Sub(c.now()); wait > 0 {
		c.mu.Lock()
		c.scheduled[key] = at
		c.mu.Unlock()
		return controller.Result{RequeueAfter: wait}, nil
	}
	if err := c.evict(ctx, pod); err != nil {
		return controller.Result{}, err
	}
	c.forget(key)
	return controller.Result{}, nil
}

// evictionTime returns when pod must leave node: now for a NoExecute taint
// it does not tolerate, else the earliest start + tolerationSeconds over
// the taints; false when no taint ever evicts it.
func (c *Controller) evictionTime(pod *corev1.Pod, node *corev1.Node) (time.Time, bool) {
	var at time.Time
	found := false
	for _, t := range node.Spec.Taints {
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		seconds, tolerated, forever := tolerationFor(pod.Spec.Tolerations, &t)
		var d time.Time
		switch {
		case !tolerated:
			d = c.now()
		case forever:
			continue
		default:
			start := c.taintStart(node.Name, &t)
			if start.Before(pod.CreationTimestamp.Time) {
				start = pod.CreationTimestamp.Time
			}
			d = start.Add(time.Duration(seconds) * time.Second)
		}
		if !found || d.Before(at) {
			at, found = d, true
		}
	}
	return at, found
}

// tolerationFor returns the shortest tolerationSeconds among the
// tolerations that tolerate taint; forever when none of them limits it.
func tolerationFor(tolerations []corev1.Toleration, taint *corev1.Taint) (seconds int64, tolerated, forever bool) {
	forever = true
	for i := range tolerations {
		tol := &tolerations[i]
		if !tol.ToleratesTaint(taint) {
			continue
		}
		tolerated = true
		if tol.TolerationSeconds == nil {
			continue
		}
		s := max(*tol.TolerationSeconds, 0)
		if forever || s < seconds {
			seconds, forever = s, false
		}
	}
	return seconds, tolerated, forever && tolerated
}

// taintStart is the taint's timeAdded, or when it was first seen.
func (c *Controller) taintStart(node string, t *corev1.Taint) time.Time {
	if t.TimeAdded != nil && !t.TimeAdded.IsZero() {
		return t.TimeAdded.Time
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.firstSeen[node]
	if seen == nil {
		seen = map[string]time.Time{}
		c.firstSeen[node] = seen
	}
	k := t.ToString()
	if _, ok := seen[k]; !ok {
		seen[k] = c.now()
	}
	return seen[k]
}

// evict marks the pod as disrupted and deletes it with its own grace
// period.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod) error {
	if err := c.markDisrupted(ctx, pod); err != nil {
		return err
	}
	c.recorder.Eventf(pod, corev1.EventTypeNormal, ReasonTaintManagerEviction, "Marking for deletion Pod %s/%s", pod.Namespace, pod.Name)
	uid := pod.UID
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.log.Info("evicted pod for a NoExecute taint", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	return nil
}

// markDisrupted adds the DisruptionTarget condition, as upstream does
// before deleting.
func (c *Controller) markDisrupted(ctx context.Context, pod *corev1.Pod) error {
	if i := slices.IndexFunc(pod.Status.Conditions, func(pc corev1.PodCondition) bool {
		return pc.Type == corev1.DisruptionTarget && pc.Status == corev1.ConditionTrue
	}); i >= 0 {
		return nil
	}
	out := pod.DeepCopy()
	out.Status.Conditions = slices.DeleteFunc(out.Status.Conditions, func(pc corev1.PodCondition) bool {
		return pc.Type == corev1.DisruptionTarget
	})
	out.Status.Conditions = append(out.Status.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: ReasonDeletionByTaint, Message: messageDisruption, LastTransitionTime: metav1.NewTime(c.now()),
	})
	if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("mark pod %s/%s disrupted: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// cancel drops a pending eviction whose taint went away or is now
// tolerated for ever.
func (c *Controller) cancel(pod *corev1.Pod, key string) {
	c.mu.Lock()
	_, ok := c.scheduled[key]
	delete(c.scheduled, key)
	c.mu.Unlock()
	if ok {
		c.recorder.Eventf(pod, corev1.EventTypeNormal, ReasonTaintManagerEviction, "Cancelling deletion of Pod %s/%s", pod.Namespace, pod.Name)
	}
}

func (c *Controller) forget(key string) {
	c.mu.Lock()
	delete(c.scheduled, key)
	c.mu.Unlock()
}

// nodeChanged enqueues the node's pods when its NoExecute taints changed.
func (c *Controller) nodeChanged(oldObj, obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	var old []corev1.Taint
	if o, ok := oldObj.(*corev1.Node); ok {
		old = o.Spec.Taints
	}
	cur := noExecute(node.Spec.Taints)
	if slices.EqualFunc(noExecute(old), cur, sameTaint) {
		return
	}
	c.pruneFirstSeen(node.Name, cur)
	pods, err := controller.PodsOnNode(c.podIndex, node.Name)
	if err != nil {
		c.log.Warn("list pods of node", "node", node.Name, "err", err)
		return
	}
	for _, p := range pods {
		c.runner.Enqueue(controller.Key(p.Namespace, p.Name))
	}
}

func (c *Controller) nodeGone(obj any) {
	if m, ok := controller.MetaOf(obj); ok {
		c.pruneFirstSeen(m.GetName(), nil)
	}
}

// pruneFirstSeen forgets taints node no longer has.
func (c *Controller) pruneFirstSeen(node string, taints []corev1.Taint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.firstSeen[node]
	for k := range seen {
		if !slices.ContainsFunc(taints, func(t corev1.Taint) bool { return t.ToString() == k }) {
			delete(seen, k)
		}
	}
	if len(seen) == 0 {
		delete(c.firstSeen, node)
	}
}

func noExecute(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

func sameTaint(a, b corev1.Taint) bool {
	return a.MatchTaint(&b) && a.Value == b.Value && a.TimeAdded.Equal(b.TimeAdded)
}
