// Package priority is the Priority admission plugin: it resolves a pod's
// priorityClassName into spec.priority and spec.preemptionPolicy, and
// guards PriorityClasses (value range, reserved names, one global default,
// built-in classes).
package priority

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
)

// Priorities, as upstream defines them.
const (
	// HighestUserDefinablePriority is the largest value a user class may have.
	HighestUserDefinablePriority int32 = 1000000000
	// SystemCriticalPriority is the base of the built-in classes.
	SystemCriticalPriority int32 = 2 * HighestUserDefinablePriority
	// SystemClusterCritical and SystemNodeCritical name the built-in classes.
	SystemClusterCritical = "system-cluster-critical"
	SystemNodeCritical    = "system-node-critical"
	// SystemPriorityClassPrefix is reserved for the built-in classes.
	SystemPriorityClassPrefix = "system-"
	// DefaultPriorityWhenNoDefaultClassExists is a pod's priority when it
	// names no class and no class is the global default.
	DefaultPriorityWhenNoDefaultClassExists int32 = 0
)

// SystemPriorityClasses are the built-in classes every cluster has; the
// server creates them at bootstrap and the plugin resolves them even when
// they are missing from storage.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	policy := corev1.PreemptLowerPriority
	return []*schedulingv1.PriorityClass{
		{
			ObjectMeta:       metav1.ObjectMeta{Name: SystemNodeCritical},
			Value:            SystemCriticalPriority + 1000,
			Description:      "Used for system critical pods that must not be moved from their current node.",
			PreemptionPolicy: &policy,
		},
		{
			ObjectMeta:       metav1.ObjectMeta{Name: SystemClusterCritical},
			Value:            SystemCriticalPriority,
			Description:      "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
			PreemptionPolicy: &policy,
		},
	}
}

func systemClass(name string) *schedulingv1.PriorityClass {
	for _, pc := range SystemPriorityClasses() {
		if pc.Name == name {
			return pc
		}
	}
	return nil
}

// GetPriorityClass reads a PriorityClass; it returns a NotFound API error
// when there is none.
type GetPriorityClass func(ctx context.Context, name string) (*schedulingv1.PriorityClass, error)

// ListPriorityClasses lists every PriorityClass.
type ListPriorityClasses func(ctx context.Context) ([]*schedulingv1.PriorityClass, error)

// ListVersion returns the resourceVersion a list of every PriorityClass
// would report now, without reading the classes. Equal versions must mean
// equal classes.
type ListVersion func(ctx context.Context) (string, error)

// Plugin is the Priority admission plugin.
type Plugin struct {
	get     GetPriorityClass
	list    ListPriorityClasses
	version ListVersion

	// mu guards the remembered global default: def (nil: none) as of
	// the classes' version defAt ("" while nothing is remembered).
	mu    sync.Mutex
	def   *schedulingv1.PriorityClass
	defAt string
}

// New returns the plugin reading classes through get and list.
func New(get GetPriorityClass, list ListPriorityClasses) *Plugin {
	return &Plugin{get: get, list: list}
}

// RememberDefault makes p remember the global default class for a version
// of the classes, so that a pod without priorityClassName costs a version
// read instead of a list while no class changes. The default is then as
// fresh as version and list are (the watch cache's view, as without
// remembering). It returns p.
func (p *Plugin) RememberDefault(version ListVersion) *Plugin {
	p.version = version
	return p
}

var (
	podsGR            = schema.GroupResource{Resource: "pods"}
	priorityClassesGR = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
	priorityClassGK   = schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}
)

// Admit implements admission.Plugin.
func (p *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	if a.Resource == nil || a.Subresource != "" {
		return nil
	}
	switch a.Resource.GroupResource() {
	case podsGR:
		return p.admitPod(ctx, a)
	case priorityClassesGR:
		return p.admitPriorityClass(ctx, a)
	}
	return nil
}

func (p *Plugin) admitPod(ctx context.Context, a *admission.Attributes) error {
	if a.Operation != admission.Create && a.Operation != admission.Update {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if a.Operation == admission.Update {
		// The priority was resolved on create and is immutable.
		if old, ok := a.OldObject.(*corev1.Pod); ok && old.Spec.Priority != nil {
			return nil
		}
	}
	name := podName(a, pod)
	var priority int32
	var policy *corev1.PreemptionPolicy
	if pod.Spec.PriorityClassName == "" {
		pc, err := p.globalDefault(ctx)
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to get default priority class: %w", err))
		}
		if pc != nil {
			pod.Spec.PriorityClassName, priority, policy = pc.Name, pc.Value, copyPolicy(pc.PreemptionPolicy)
		} else {
			lower := corev1.PreemptLowerPriority
			priority, policy = DefaultPriorityWhenNoDefaultClassExists, &lower
		}
	} else {
		pc, err := p.resolve(ctx, pod.Spec.PriorityClassName)
		if apierrors.IsNotFound(err) {
			return apierrors.NewForbidden(podsGR, name, fmt.Errorf("no PriorityClass with name %v was found", pod.Spec.PriorityClassName))
		}
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to get PriorityClass with name %s: %w", pod.Spec.PriorityClassName, err))
		}
		priority, policy = pc.Value, pc.PreemptionPolicy
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return apierrors.NewForbidden(podsGR, name, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	pod.Spec.Priority = &priority
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return apierrors.NewForbidden(podsGR, name, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pod.Spec.PreemptionPolicy = policy
	}
	return nil
}

// copyPolicy is a copy of p: a pod must not share a class's pointer.
func copyPolicy(p *corev1.PreemptionPolicy) *corev1.PreemptionPolicy {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func podName(a *admission.Attributes, pod *corev1.Pod) string {
	switch {
	case a.Name != "":
		return a.Name
	case pod.Name != "":
		return pod.Name
	}
	return pod.GenerateName
}

// resolve reads a class; the built-in classes always resolve.
func (p *Plugin) resolve(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
	pc, err := p.get(ctx, name)
	if apierrors.IsNotFound(err) {
		if sc := systemClass(name); sc != nil {
			return sc, nil
		}
	}
	return pc, err
}

// globalDefault returns the global default class (the lowest-valued one
// should a race have made several), or nil. The class may be shared with
// other requests: read it, never change it.
func (p *Plugin) globalDefault(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	if p.version == nil {
		return p.listDefault(ctx)
	}
	at, err := p.version(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	def, known := p.def, at != "" && p.defAt == at
	p.mu.Unlock()
	if known {
		return def, nil
	}
	if def, err = p.listDefault(ctx); err != nil {
		return nil, err
	}
	// The list is of version at only if the version did not move meanwhile.
	if after, err := p.version(ctx); err == nil && after == at {
		p.mu.Lock()
		p.def, p.defAt = def, at
		p.mu.Unlock()
	}
	return def, nil
}

// listDefault lists the classes and picks the global default.
func (p *Plugin) listDefault(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	pcs, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	var def *schedulingv1.PriorityClass
	for _, pc := range pcs {
		if pc.GlobalDefault && (def == nil || pc.Value < def.Value) {
			def = pc
		}
	}
	return def, nil
}

func (p *Plugin) admitPriorityClass(ctx context.Context, a *admission.Attributes) error {
	if a.Operation == admission.Delete {
		if systemClass(a.Name) != nil {
			return apierrors.NewForbidden(priorityClassesGR, a.Name, fmt.Errorf("this is a system priority class and cannot be deleted"))
		}
		return nil
	}
	if a.Operation != admission.Create && a.Operation != admission.Update {
		return nil
	}
	pc, ok := a.Object.(*schedulingv1.PriorityClass)
	if !ok {
		return nil
	}
	if pc.PreemptionPolicy == nil {
		lower := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &lower
	}
	errs := validateClass(pc)
	if old, ok := a.OldObject.(*schedulingv1.PriorityClass); ok && a.Operation == admission.Update {
		errs = append(errs, validateClassUpdate(pc, old)...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(priorityClassGK, pc.Name, errs)
	}
	if pc.GlobalDefault {
		def, err := p.globalDefault(ctx)
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to get default priority class: %w", err))
		}
		if def != nil && def.Name != pc.Name {
			return apierrors.NewForbidden(priorityClassesGR, pc.Name, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", def.Name))
		}
	}
	return nil
}

// validateClass refuses reserved names and values above the user range,
// except for the built-in classes with their exact values.
func validateClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if sc := systemClass(pc.Name); sc != nil {
		if pc.Value != sc.Value || pc.GlobalDefault {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				fmt.Sprintf("%v is a system priority class: its value must be %d and globalDefault false", pc.Name, sc.Value)))
		}
		return errs
	}
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
			"priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only"))
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if p := *pc.PreemptionPolicy; p != corev1.PreemptLowerPriority && p != corev1.PreemptNever {
		errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), p,
			[]string{string(corev1.PreemptLowerPriority), string(corev1.PreemptNever)}))
	}
	return errs
}

// validateClassUpdate keeps value and preemptionPolicy immutable.
func validateClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	if old.PreemptionPolicy != nil && *pc.PreemptionPolicy != *old.PreemptionPolicy {
		errs = append(errs, field.Invalid(field.NewPath("preemptionPolicy"), *pc.PreemptionPolicy, "field is immutable"))
	}
	return errs
}
