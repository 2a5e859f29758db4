// Package daemonset runs one pod of each DaemonSet on every node that
// should have one: nodes matching the template's nodeSelector and
// required node affinity whose NoSchedule/NoExecute taints the pod
// tolerates. Pods are not bound by the controller: each gets the required
// node affinity "metadata.name In [<node>]" and the scheduler places it.
//
//	DaemonSet key ─► claim revisions; the revision of spec.template (created if new)
//	                 gives the controller-revision-hash of up-to-date pods
//	                 claim pods, group them by target node
//	                 expectations met? ── no ──► only update status
//	                 │ yes
//	                 manage: per node, should run / may continue running?
//	                   missing pod → create;  failed pod → delete (with back-off)
//	                   extra pods → delete;   node no longer eligible → delete
//	                 rolling update (nothing left to manage):
//	                   maxSurge 0: delete old pods while unavailable < maxUnavailable
//	                   maxSurge>0: start new pods next to old ones, delete old when new is available
//	                 truncate history; status (desired, current, ready, available, updated, misscheduled)
//
// Deletes and creates of one reconcile are not mixed: deletes go first and
// the creates follow on the next pass, so expectations track one kind.
package daemonset

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/history"
)

// ReasonFailedDaemonPod is the event reason of a failed pod being
// replaced, upstream's; creates and deletes are reported by
// controller.PodControl.
const ReasonFailedDaemonPod = "FailedDaemonPod"

// TemplateGenerationLabel is the pod label holding the generation of the
// DaemonSet that made the pod, upstream's.
const TemplateGenerationLabel = "pod-template-generation"

// BurstReplicas bounds the creates or deletes of one reconcile.
const BurstReplicas = 250

// Back-off of replacing failed pods on one node, upstream's.
const (
	failedPodBackoffInitial = time.Second
	failedPodBackoffMax     = 15 * time.Minute
)

var kind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	client       kubernetes.Interface
	sets         appslisters.DaemonSetLister
	pods         corelisters.PodLister
	nodes        corelisters.NodeLister
	revisions    appslisters.ControllerRevisionLister
	history      history.Store
	recorder     record.EventRecorder
	expectations *controller.Expectations
	// failedBackoff paces replacing failed pods per DaemonSet and node;
	// flowcontrol.Backoff does its own locking.
	failedBackoff *flowcontrol.Backoff
	runner        *controller.Runner
	log           *slog.Logger
	now           func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	dsInf := c.Informers.Apps().V1().DaemonSets()
	podInf := c.Informers.Core().V1().Pods()
	nodeInf := c.Informers.Core().V1().Nodes()
	revInf := c.Informers.Apps().V1().ControllerRevisions()
	ctl := &Controller{
		client: c.Client, sets: dsInf.Lister(), pods: podInf.Lister(), nodes: nodeInf.Lister(),
		revisions: revInf.Lister(), history: history.Store{Client: c.Client},
		recorder: c.Recorder("daemonset-controller"), expectations: controller.NewExpectations(),
		failedBackoff: flowcontrol.NewBackOff(failedPodBackoffInitial, failedPodBackoffMax),
		log:           c.Logger("daemonset"), now: time.Now,
	}
	ctl.runner = controller.NewRunner("daemonset", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(dsInf.Informer().HasSynced, podInf.Informer().HasSynced,
		nodeInf.Informer().HasSynced, revInf.Informer().HasSynced)
	dsInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	get := func(ns, name string) (metav1.Object, error) { return ctl.sets.DaemonSets(ns).Get(name) }
	podInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(), Get: get, Orphan: ctl.setsSelecting, Expectations: ctl.expectations,
	})
	revInf.Informer().AddEventHandler(&controller.OwnerHandler{Queue: ctl.runner, Owner: kind.GroupKind(), Get: get})
	nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { ctl.enqueueAll() },
		UpdateFunc: func(old, cur any) {
			if nodeChanged(old.(*corev1.Node), cur.(*corev1.Node)) {
				ctl.enqueueAll()
			}
		},
		DeleteFunc: func(any) { ctl.enqueueAll() },
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// nodeChanged reports whether a node update may change where daemon pods
// belong: labels, taints or schedulability.
func nodeChanged(old, cur *corev1.Node) bool {
	return !maps.Equal(old.Labels, cur.Labels) || old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!slices.EqualFunc(old.Spec.Taints, cur.Spec.Taints, func(a, b corev1.Taint) bool { return a.MatchTaint(&b) && a.Value == b.Value })
}

// enqueueAll enqueues every DaemonSet (a node came, went or changed).
func (c *Controller) enqueueAll() {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		c.runner.Enqueue(controller.Key(ds.Namespace, ds.Name))
	}
}

// setsSelecting returns the keys of the DaemonSets that could adopt obj.
func (c *Controller) setsSelecting(obj metav1.Object) []string {
	sets, err := c.sets.DaemonSets(obj.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	return controller.KeysSelecting(sets, func(ds *appsv1.DaemonSet) *metav1.LabelSelector { return ds.Spec.Selector }, obj)
}

// Reconcile converges the DaemonSet named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Delete(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	ds := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Warn("invalid selector", "daemonset", key, "err", err)
		return controller.Result{}, nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}
	revs, err := history.Claim(ctx, c.client, c.revisions, ds, kind, selector, c.recheck(ds))
	if err != nil {
		return controller.Result{}, err
	}
	hash, collisions, err := c.ensureRevision(ctx, ds, revs)
	if err != nil {
		return controller.Result{}, err
	}
	pods, err := c.claimPods(ctx, ds, selector)
	if err != nil {
		return controller.Result{}, err
	}
	s := &state{ds: ds, hash: hash, collisions: collisions, nodes: nodes, byNode: podsByNode(pods), now: c.now()}
	var syncErr error
	var requeue time.Duration
	if ds.DeletionTimestamp == nil && c.expectations.Satisfied(key) {
		requeue, syncErr = c.manage(ctx, key, s)
		if syncErr == nil && c.expectations.Satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
			syncErr = c.rollingUpdate(ctx, key, s)
		}
		if syncErr == nil {
			syncErr = c.truncateHistory(ctx, ds, pods, revs, hash)
		}
	}
	if err := c.updateStatus(ctx, ds, computeStatus(s)); err != nil {
		return controller.Result{}, err
	}
	if syncErr != nil {
		return controller.Result{}, syncErr
	}
	if next := controller.NextAvailable(pods, ds.Spec.MinReadySeconds, s.now); next > 0 && (requeue == 0 || next < requeue) {
		requeue = next
	}
	return controller.Result{RequeueAfter: requeue}, nil
}

// claimPods adopts and releases ds's pods and returns the ones it owns.
func (c *Controller) claimPods(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return controller.ClaimPods(ctx, c.client, ds, kind, selector, c.recheck(ds), all)
}

func (c *Controller) recheck(ds *appsv1.DaemonSet) func(ctx context.Context) (metav1.Object, error) {
	return func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	}
}

// ensureRevision makes sure a revision records spec.template and returns
// its hash, the controller-revision-hash of up-to-date pods, and the
// collision count for status (raised past name collisions).
func (c *Controller) ensureRevision(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (string, *int32, error) {
	data, err := history.TemplateData(&ds.Spec.Template)
	if err != nil {
		return "", nil, err
	}
	var n int32
	if ds.Status.CollisionCount != nil {
		n = *ds.Status.CollisionCount
	}
	owner := history.Owner{Object: ds, Kind: kind, Labels: ds.Spec.Template.Labels, Annotations: ds.Annotations}
	rev, err := c.history.Ensure(ctx, owner, data, revs, &n)
	if err != nil {
		return "", nil, err
	}
	var collisions *int32
	if ds.Status.CollisionCount != nil || n > 0 {
		collisions = &n
	}
	return rev.Labels[history.HashLabel], collisions, nil
}

// truncateHistory deletes the oldest revisions no pod uses beyond
// revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, hash string) error {
	liveHashes := map[string]bool{hash: true}
	for _, p := range pods {
		liveHashes[p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] = true
	}
	live := map[string]bool{}
	for _, r := range revs {
		if liveHashes[r.Labels[history.HashLabel]] {
			live[r.Name] = true
		}
	}
	limit := int32(10)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	return c.history.Truncate(ctx, revs, live, limit)
}
