// Package disruption keeps the status of every PodDisruptionBudget up to
// date: how many of its pods are expected, how many are healthy, how many
// must stay healthy and so how many may be disrupted now. The pods/eviction
// subresource of the API server reads that status to allow or refuse an
// eviction, and records the pods it evicted in status.disruptedPods so that
// this controller does not count them as healthy while they go away.
//
//	PDB key ─► pods matching the selector
//	           expectedPods:  integer minAvailable → number of pods
//	                          otherwise → sum of the scale of the pods' controllers
//	           desiredHealthy: minAvailable, or expectedPods - maxUnavailable
//	           disruptedPods:  entries younger than DeletionTimeout whose pods remain
//	           currentHealthy: Ready pods, not terminating, not just disrupted
//	           disruptionsAllowed = max(0, currentHealthy - desiredHealthy)
//	           ─► status + DisruptionAllowed condition
package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/controller"
)

// DeletionTimeout is how long a pod the eviction API recorded in
// status.disruptedPods is expected to take to be deleted; until then it is
// not counted as healthy, afterwards the entry is dropped.
const DeletionTimeout = 2 * time.Minute

// Event reasons, upstream's.
const (
	ReasonNoPods          = "NoPods"
	ReasonUnmanagedPods   = "UnmanagedPods"
	ReasonCalculateFailed = "CalculateExpectedPodCountFailed"
	ReasonNotDeleted      = "NotDeleted"
)

// Controller is the disruption controller.
type Controller struct {
	client      kubernetes.Interface
	pdbs        policylisters.PodDisruptionBudgetLister
	pods        corelisters.PodLister
	rcs         corelisters.ReplicationControllerLister
	sets        appslisters.ReplicaSetLister
	deployments appslisters.DeploymentLister
	statefuls   appslisters.StatefulSetLister
	recorder    record.EventRecorder
	runner      *controller.Runner
	log         *slog.Logger
	now         func() time.Time
}

// New builds the controller on c's informers.
func New(c *controller.Context) *Controller {
	pdbInf := c.Informers.Policy().V1().PodDisruptionBudgets()
	podInf := c.Informers.Core().V1().Pods()
	rcInf := c.Informers.Core().V1().ReplicationControllers()
	rsInf := c.Informers.Apps().V1().ReplicaSets()
	depInf := c.Informers.Apps().V1().Deployments()
	ssInf := c.Informers.Apps().V1().StatefulSets()
	ctl := &Controller{
		client: c.Client, pdbs: pdbInf.Lister(), pods: podInf.Lister(),
		rcs: rcInf.Lister(), sets: rsInf.Lister(), deployments: depInf.Lister(), statefuls: ssInf.Lister(),
		recorder: c.Recorder("controllermanager"), log: c.Logger("disruption"), now: time.Now,
	}
	ctl.runner = controller.NewRunner("disruption", ctl, controller.RunnerOptions{Workers: c.Workers, Log: ctl.log})
	ctl.runner.WaitFor(pdbInf.Informer().HasSynced, podInf.Informer().HasSynced, rcInf.Informer().HasSynced,
		rsInf.Informer().HasSynced, depInf.Informer().HasSynced, ssInf.Informer().HasSynced)
	pdbInf.Informer().AddEventHandler(controller.EnqueueHandler(ctl.runner, nil))
	podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: ctl.enqueueBudgetsOf,
		UpdateFunc: func(oldObj, newObj any) {
			ctl.enqueueBudgetsOf(newObj)
			ctl.enqueueBudgetsOf(oldObj) // its labels may have changed
		},
		DeleteFunc: ctl.enqueueBudgetsOf,
	})
	return ctl
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// enqueueBudgetsOf enqueues the budgets whose selector matches a pod.
func (c *Controller) enqueueBudgetsOf(obj any) {
	m, ok := controller.MetaOf(obj)
	if !ok {
		return
	}
	pdbs, err := c.pdbs.PodDisruptionBudgets(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(m.GetLabels())) {
			continue
		}
		c.runner.Enqueue(controller.Key(pdb.Namespace, pdb.Name))
	}
}

// Reconcile brings the status of the budget named key up to date.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	res, err := c.sync(ctx, pdb)
	if err == nil || apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return res, err
	}
	c.log.Info("sync failed, allowing no disruptions", "pdb", key, "err", err)
	if ferr := c.failSafe(ctx, pdb, err); ferr != nil {
		return controller.Result{}, errors.Join(err, ferr)
	}
	return controller.Result{}, err
}

// sync computes and writes the status of pdb.
func (c *Controller) sync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (controller.Result, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return controller.Result{}, fmt.Errorf("invalid selector: %w", err)
	}
	pods, err := c.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		return controller.Result{}, err
	}
	if len(pods) == 0 {
		c.recorder.Event(pdb, corev1.EventTypeNormal, ReasonNoPods, "No matching pods found")
	}
	expected, desired, unmanaged, err := c.expectedPodCount(pdb, pods)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, ReasonCalculateFailed, "Failed to calculate the number of expected pods: %v", err)
		return controller.Result{}, err
	}
	if len(unmanaged) > 0 {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, ReasonUnmanagedPods,
			"Pods selected by this PodDisruptionBudget (selector: %v) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", sel)
	}
	now := c.now()
	disrupted, recheck := c.disruptedPods(pdb, pods, now)
	healthy := countHealthy(pods, disrupted, now)
	if err := c.updateStatus(ctx, pdb, healthy, desired, expected, disrupted); err != nil {
		return controller.Result{}, err
	}
	if !recheck.IsZero() {
		return controller.Result{RequeueAfter: recheck.Sub(now) + time.Second}, nil
	}
	return controller.Result{}, nil
}

// expectedPodCount returns how many pods the budget expects and how many
// of them must stay healthy, and the pods without a controller (left out
// of a scale-based count).
func (c *Controller) expectedPodCount(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = c.expectedScale(pods)
		if err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = max(0, expected-int32(maxUnavailable))
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		expected, unmanaged, err = c.expectedScale(pods)
		if err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, unmanaged, nil
}

// disruptedPods returns the entries of status.disruptedPods still pending
// (pod present, not yet being deleted, recorded less than DeletionTimeout
// ago), and when the first of them expires (zero if none).
func (c *Controller) disruptedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (map[string]metav1.Time, time.Time) {
	out := map[string]metav1.Time{}
	var recheck time.Time
	if len(pdb.Status.DisruptedPods) == 0 {
		return out, recheck
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue // being deleted: the eviction did its job
		}
		at, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok {
			continue
		}
		expires := at.Add(DeletionTimeout)
		if expires.Before(now) {
			c.recorder.Eventf(p, corev1.EventTypeWarning, ReasonNotDeleted,
				"Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
			continue
		}
		out[p.Name] = at
		if recheck.IsZero() || expires.Before(recheck) {
			recheck = expires
		}
	}
	return out, recheck
}

// countHealthy counts the Ready pods that are neither terminating nor
// recently disrupted.
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if at, ok := disrupted[p.Name]; ok && at.Add(DeletionTimeout).After(now) {
			continue
		}
		if controller.PodReady(p) {
			n++
		}
	}
	return n
}

// updateStatus writes the computed status when it differs from pdb's.
func (c *Controller) updateStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]metav1.Time) error {
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := pdb.Status
	if st.CurrentHealthy == healthy && st.DesiredHealthy == desired && st.ExpectedPods == expected &&
		st.DisruptionsAllowed == allowed && st.ObservedGeneration == pdb.Generation &&
		apiequality.Semantic.DeepEqual(nonNil(st.DisruptedPods), disrupted) && conditionUpToDate(pdb) {
		return nil
	}
	next := pdb.DeepCopy()
	next.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected,
		DisruptionsAllowed: allowed, DisruptedPods: disrupted, ObservedGeneration: pdb.Generation,
		Conditions: next.Status.Conditions,
	}
	setDisruptionAllowedCondition(next)
	_, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return err
}

// failSafe allows no disruptions after a failed sync and says why in the
// DisruptionAllowed condition.
func (c *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	next := pdb.DeepCopy()
	next.Status.DisruptionsAllowed = 0
	apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.SyncFailedReason, Message: cause.Error(), ObservedGeneration: next.Status.ObservedGeneration,
	})
	if apiequality.Semantic.DeepEqual(next.Status, pdb.Status) {
		return nil
	}
	_, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return err
}

// setDisruptionAllowedCondition sets the DisruptionAllowed condition from
// status.disruptionsAllowed: SufficientPods when above zero, else
// InsufficientPods.
func setDisruptionAllowedCondition(pdb *policyv1.PodDisruptionBudget) {
	cond := metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration,
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&pdb.Status.Conditions, cond)
}

// conditionUpToDate reports whether the DisruptionAllowed condition agrees
// with the status it sits in.
func conditionUpToDate(pdb *policyv1.PodDisruptionBudget) bool {
	cond := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	if cond == nil || cond.ObservedGeneration != pdb.Status.ObservedGeneration {
		return false
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		return cond.Status == metav1.ConditionTrue && cond.Reason == policyv1.SufficientPodsReason
	}
	return cond.Status == metav1.ConditionFalse && cond.Reason == policyv1.InsufficientPodsReason
}

func nonNil(m map[string]metav1.Time) map[string]metav1.Time {
	if m == nil {
		return map[string]metav1.Time{}
	}
	return m
}
