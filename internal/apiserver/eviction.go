package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Messages of the eviction subresource, upstream's.
const (
	msgViolatesBudget  = "Cannot evict pod as it would violate the pod's disruption budget."
	msgMultipleBudgets = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)

// maxDisruptedPods bounds status.disruptedPods: past it, evictions are
// refused until the disruption controller catches up.
const maxDisruptedPods = 2000

var pdbGVR = schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}

// errBudgetNotNeeded aborts the budget update when an unhealthy pod may go
// without spending a disruption.
var errBudgetNotNeeded = errors.New("apiserver: eviction needs no disruption")

// serveEviction evicts a pod (POST pods/<name>/eviction): it deletes the
// pod like a DELETE would, but only if the pod's PodDisruptionBudget allows
// one more disruption, which it spends. Otherwise it answers 429.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	dry, body, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	ev, err := s.decodeEviction(r, body)
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if ev.Name != ri.Name {
		s.writeError(w, r, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	if ev.Namespace != "" && ev.Namespace != ri.Namespace {
		s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	opts := &metav1.DeleteOptions{}
	if ev.DeleteOptions != nil {
		opts = ev.DeleteOptions.DeepCopy()
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %q, only %q is supported", v, metav1.DryRunAll)))
			return
		}
		dry = true
	}
	if err := s.evict(r, h, ri, opts, dry); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, nil, http.StatusCreated, &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

// decodeEviction reads a policy/v1 Eviction, or a policy/v1beta1 one (same
// shape) when the JSON body says so.
func (s *Server) decodeEviction(r *http.Request, body []byte) (*policyv1.Eviction, error) {
	ev := &policyv1.Eviction{}
	if contentTypeOf(r) != mediaProtobuf {
		js, err := bodyToJSON(r, body)
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, err
		}
		if tm.APIVersion == policyv1beta1.SchemeGroupVersion.String() {
			old := &policyv1beta1.Eviction{}
			if err := s.decodeOptions(r, body, policyv1beta1.SchemeGroupVersion.WithKind("Eviction"), old); err != nil {
				return nil, err
			}
			ev.ObjectMeta, ev.DeleteOptions = old.ObjectMeta, old.DeleteOptions
			return ev, nil
		}
	}
	err := s.decodeOptions(r, body, policyv1.SchemeGroupVersion.WithKind("Eviction"), ev)
	if err != nil && contentTypeOf(r) == mediaProtobuf {
		// A policy/v1beta1 Eviction in protobuf.
		old := &policyv1beta1.Eviction{}
		if s.decodeOptions(r, body, policyv1beta1.SchemeGroupVersion.WithKind("Eviction"), old) == nil {
			ev.ObjectMeta, ev.DeleteOptions = old.ObjectMeta, old.DeleteOptions
			return ev, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// evict checks the pod's budget, spends a disruption when one is needed
// and deletes the pod.
func (s *Server) evict(r *http.Request, h *resourceHandler, ri *requestInfo, opts *metav1.DeleteOptions, dry bool) error {
	ctx := r.Context()
	obj, err := h.store.Get(ctx, ri.Namespace, ri.Name)
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	if opts.Preconditions == nil {
		uid := pod.UID
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	// A pod that is finished, not yet started or already going away
	// disrupts nothing more by being deleted.
	if ignoresBudget(pod) {
		return s.deleteEvicted(r, h, ri, opts, dry, "")
	}
	budgets, err := s.budgetsFor(ctx, pod)
	if err != nil {
		return err
	}
	switch {
	case len(budgets) > 1:
		return apierrors.NewInternalError(errors.New(msgMultipleBudgets))
	case len(budgets) == 0:
		return s.deleteEvicted(r, h, ri, opts, dry, "")
	}
	pdb := budgets[0]
	ready := podReady(pod)
	policy := pdb.Spec.UnhealthyPodEvictionPolicy
	if !ready && policy != nil && *policy == policyv1.AlwaysAllow {
		return s.deleteEvicted(r, h, ri, opts, dry, pod.ResourceVersion)
	}
	ifHealthy := policy == nil || *policy == policyv1.IfHealthyBudget
	store := s.handlers[pdbGVR].store
	spend := func(cur runtime.Object) (runtime.Object, error) {
		b := cur.(*policyv1.PodDisruptionBudget)
		if b.Status.ObservedGeneration < b.Generation {
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", b.Name), 10)
		}
		if !ready && ifHealthy && b.Status.CurrentHealthy >= b.Status.DesiredHealthy && b.Status.DesiredHealthy > 0 {
			return nil, errBudgetNotNeeded
		}
		if err := spendDisruption(b, pod.Name, store.Now()); err != nil {
			return nil, err
		}
		b.ResourceVersion = "" // recomputed on the fresh object after a conflict
		return b, nil
	}
	_, _, err = store.Update(ctx, pdb.Namespace, pdb.Name, spend, registry.UpdateOptions{DryRun: dry, Subresource: "status"})
	switch {
	case errors.Is(err, errBudgetNotNeeded):
		return s.deleteEvicted(r, h, ri, opts, dry, pod.ResourceVersion)
	case err != nil:
		return err
	}
	return s.deleteEvicted(r, h, ri, opts, dry, "")
}

// spendDisruption takes one disruption from pdb for the pod named pod, or
// says why it cannot.
func spendDisruption(pdb *policyv1.PodDisruptionBudget, pod string, now time.Time) error {
	gr := policyv1.Resource("poddisruptionbudget")
	if pdb.Status.DisruptionsAllowed < 0 {
		return apierrors.NewForbidden(gr, pdb.Name, errors.New("pdb disruptions allowed is negative"))
	}
	if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
		return apierrors.NewForbidden(gr, pdb.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	}
	if pdb.Status.DisruptionsAllowed == 0 {
		return tooManyRequests(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
			pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy), 0)
	}
	pdb.Status.DisruptionsAllowed--
	if pdb.Status.DisruptionsAllowed == 0 {
		apimeta.SetStatusCondition(&pdb.Status.Conditions, metav1.Condition{
			Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
			Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration,
		})
	}
	if pdb.Status.DisruptedPods == nil {
		pdb.Status.DisruptedPods = map[string]metav1.Time{}
	}
	// Tells the disruption controller not to count the pod as healthy
	// while it goes away.
	pdb.Status.DisruptedPods[pod] = metav1.NewTime(now)
	return nil
}

// tooManyRequests is the 429 of a refused eviction, with a DisruptionBudget
// cause saying which budget refused it.
func tooManyRequests(cause string, retryAfter int) error {
	err := apierrors.NewTooManyRequests(msgViolatesBudget, retryAfter)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes,
		metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// deleteEvicted marks the pod with the DisruptionTarget condition and
// deletes it with the eviction's options. A non-empty resourceVersion
// makes the delete fail if the pod changed since the decision was taken on
// it (an unhealthy pod may have become ready).
func (s *Server) deleteEvicted(r *http.Request, h *resourceHandler, ri *requestInfo, opts *metav1.DeleteOptions, dry bool, resourceVersion string) error {
	ctx := r.Context()
	if !dry {
		mark := func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.(*corev1.Pod)
			if uid := opts.Preconditions.UID; uid != nil && *uid != pod.UID {
				return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name,
					fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *uid, pod.UID))
			}
			if resourceVersion != "" && pod.ResourceVersion != resourceVersion {
				return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name, errors.New("the pod changed while it was being evicted; please try again"))
			}
			if pod.DeletionTimestamp == nil {
				setPodCondition(pod, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
					Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.Now()})
			}
			pod.ResourceVersion = "" // checked above; retried on conflict
			return pod, nil
		}
		out, _, err := h.store.Update(ctx, ri.Namespace, ri.Name, mark, registry.UpdateOptions{Subresource: "status"})
		if err != nil {
			return err
		}
		if resourceVersion != "" {
			rv := out.(*corev1.Pod).ResourceVersion
			opts.Preconditions.ResourceVersion = &rv
		}
	} else if resourceVersion != "" {
		opts.Preconditions.ResourceVersion = &resourceVersion
	}
	_, _, err := h.store.DeleteAdmitted(ctx, ri.Namespace, ri.Name, opts, dry, s.admitDelete(r, h, ri, dry))
	return err
}

// budgetsFor returns the budgets in the pod's namespace whose selector
// matches it; a budget with an empty or invalid selector matches nothing.
func (s *Server) budgetsFor(ctx context.Context, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	ph := s.handlers[pdbGVR]
	if ph == nil {
		return nil, nil
	}
	list, err := ph.store.List(ctx, pod.Namespace, registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for i := range list.(*policyv1.PodDisruptionBudgetList).Items {
		pdb := &list.(*policyv1.PodDisruptionBudgetList).Items[i]
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// ignoresBudget reports whether a pod may be evicted whatever its budget
// says: it is finished, has not started or is already terminating.
func ignoresBudget(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return p.DeletionTimestamp != nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
