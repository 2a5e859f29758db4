// Package statefulset runs the pods of each StatefulSet with stable
// identities: pod <set>-<ordinal> for every ordinal in
// [ordinals.start, ordinals.start+replicas), with a hostname in the
// set's service, PVCs from volumeClaimTemplates and a pod template
// revision recorded in ControllerRevisions.
//
//	StatefulSet key ─► claim pods (members by name and selector) and revisions
//	                   update revision = revision of spec.template (created if new)
//	                   current revision = status.currentRevision (or update)
//	                   sync (OrderedReady: stop at the first step that must wait)
//	                     1. ordinals in range, ascending: create PVCs + pod if missing,
//	                        delete failed pods, wait for Running+Ready(+minReadySeconds)
//	                     2. condemned ordinals, descending: delete (one at a time)
//	                     3. RollingUpdate: delete the highest pod >= partition not at
//	                        the update revision, once every pod above it is healthy
//	                   status (replicas, ready, current/updated, revisions)
//	                   truncate history to revisionHistoryLimit
//
// PVCs follow persistentVolumeClaimRetentionPolicy through owner
// references, so the garbage collector deletes them with the set
// (whenDeleted: Delete) or with a scaled-down pod (whenScaled: Delete).
package statefulset

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/history"
)

// Event reasons, upstream's.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

var kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Controller is the StatefulSet controller.
type Controller struct {
	client    kubernetes.Interface
	sets      appslisters.StatefulSetLister
	pods      corelisters.PodLister
	claims    corelisters.PersistentVolumeClaimLister
	revisions appslisters.ControllerRevisionLister
	history   history.Store
	recorder  record.EventRecorder
	runner    *controller.Runner
	log       *slog.Logger
	now       func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	setInf := c.Informers.Apps().V1().StatefulSets()
	podInf := c.Informers.Core().V1().Pods()
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	revInf := c.Informers.Apps().V1().ControllerRevisions()
	ctl := &Controller{
		client: c.Client, sets: setInf.Lister(), pods: podInf.Lister(), claims: pvcInf.Lister(),
		revisions: revInf.Lister(), history: history.Store{Client: c.Client},
		recorder: c.Recorder("statefulset-controller"), log: c.Logger("statefulset"), now: time.Now,
	}
	ctl.runner = controller.NewRunner("statefulset", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(setInf.Informer().HasSynced, podInf.Informer().HasSynced,
		pvcInf.Informer().HasSynced, revInf.Informer().HasSynced)
	setInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	get := func(ns, name string) (metav1.Object, error) { return ctl.sets.StatefulSets(ns).Get(name) }
	podInf.Informer().AddEventHandler(&controller.OwnerHandler{
		Queue: ctl.runner, Owner: kind.GroupKind(), Get: get, Orphan: ctl.setsSelecting,
	})
	revInf.Informer().AddEventHandler(&controller.OwnerHandler{Queue: ctl.runner, Owner: kind.GroupKind(), Get: get})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// setsSelecting returns the keys of the sets that could adopt an orphan.
func (c *Controller) setsSelecting(obj metav1.Object) []string {
	sets, err := c.sets.StatefulSets(obj.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	return controller.KeysSelecting(sets, func(s *appsv1.StatefulSet) *metav1.LabelSelector { return s.Spec.Selector }, obj)
}

// Reconcile converges the StatefulSet named key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	set := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || selector.Empty() {
		// Validation prevents this; nothing can be done until the spec changes.
		c.log.Warn("invalid selector", "statefulset", key, "err", err)
		return controller.Result{}, nil
	}
	pods, err := c.claimPods(ctx, set, selector)
	if err != nil {
		return controller.Result{}, err
	}
	revs, err := history.Claim(ctx, c.client, c.revisions, set, kind, selector, c.recheck(set))
	if err != nil {
		return controller.Result{}, err
	}
	collisions := set.Status.CollisionCount
	if collisions == nil {
		collisions = new(int32)
	} else {
		collisions = new(*collisions)
	}
	current, update, err := c.ensureRevisions(ctx, set, revs, collisions)
	if err != nil {
		if *collisions != ptrOr(set.Status.CollisionCount) {
			st := set.Status.DeepCopy()
			st.CollisionCount = collisions
			_ = c.updateStatus(ctx, set, *st) // the revision error is what counts
		}
		return controller.Result{}, err
	}
	currentSet, err := applyRevision(set, current)
	if err != nil {
		return controller.Result{}, err
	}
	now := c.now()
	var syncErr error
	if set.DeletionTimestamp == nil {
		p := newPlan(set, currentSet, current.Name, update.Name, pods, now)
		syncErr = c.sync(ctx, p)
	}
	st := computeStatus(set, pods, current.Name, update.Name, collisions, now)
	if err := c.updateStatus(ctx, set, st); err != nil {
		return controller.Result{}, err
	}
	if syncErr != nil {
		return controller.Result{}, syncErr
	}
	if err := c.truncateHistory(ctx, set, pods, revs, st); err != nil {
		return controller.Result{}, err
	}
	return controller.Result{RequeueAfter: controller.NextAvailable(pods, set.Spec.MinReadySeconds, now)}, nil
}

// claimPods adopts and releases set's pods and returns the ones it owns;
// only pods whose names make them members are considered.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var members []*corev1.Pod
	for _, p := range all {
		if isMember(set, p) {
			members = append(members, p)
		}
	}
	return controller.ClaimPods(ctx, c.client, set, kind, selector, c.recheck(set), members)
}

func (c *Controller) recheck(set *appsv1.StatefulSet) func(ctx context.Context) (metav1.Object, error) {
	return func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	}
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
