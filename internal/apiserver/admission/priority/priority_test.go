package priority

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/apiserver/registry/scheduling"
)

func ptr[T any](v T) *T { return &v }

// store is an in-memory set of classes.
type store map[string]*schedulingv1.PriorityClass

func (s store) plugin() *Plugin {
	return New(
		func(_ context.Context, name string) (*schedulingv1.PriorityClass, error) {
			if pc, ok := s[name]; ok {
				return pc, nil
			}
			return nil, apierrors.NewNotFound(priorityClassesGR, name)
		},
		func(context.Context) ([]*schedulingv1.PriorityClass, error) {
			var out []*schedulingv1.PriorityClass
			for _, pc := range s {
				out = append(out, pc)
			}
			return out, nil
		})
}

func class(name string, value int32, def bool, policy corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def}
	if policy != "" {
		pc.PreemptionPolicy = &policy
	}
	return pc
}

func podAttrs(op admission.Operation, pod *corev1.Pod) *admission.Attributes {
	return &admission.Attributes{Operation: op, Resource: core.Pods(), Namespace: "default", Name: pod.Name, Object: pod}
}

func TestAdmitPod(t *testing.T) {
	tests := []struct {
		name       string
		classes    store
		pod        corev1.PodSpec
		wantPrio   int32
		wantPolicy corev1.PreemptionPolicy
		wantClass  string
		wantCode   int32
		wantErr    string
	}{
		{name: "named class", classes: store{"high": class("high", 1000, false, corev1.PreemptNever)},
			pod: corev1.PodSpec{PriorityClassName: "high"}, wantPrio: 1000, wantPolicy: corev1.PreemptNever, wantClass: "high"},
		{name: "missing class is forbidden", classes: store{},
			pod: corev1.PodSpec{PriorityClassName: "x"}, wantCode: http.StatusForbidden, wantErr: "no PriorityClass with name x was found"},
		{name: "no class, no default: zero", classes: store{"high": class("high", 1000, false, "")},
			pod: corev1.PodSpec{}, wantPrio: 0, wantPolicy: corev1.PreemptLowerPriority},
		{name: "global default applies", classes: store{"def": class("def", 7, true, corev1.PreemptLowerPriority)},
			pod: corev1.PodSpec{}, wantPrio: 7, wantPolicy: corev1.PreemptLowerPriority, wantClass: "def"},
		{name: "lowest of two defaults", classes: store{"a": class("a", 9, true, ""), "b": class("b", 3, true, "")},
			pod: corev1.PodSpec{}, wantPrio: 3, wantClass: "b"},
		{name: "built-in cluster critical", classes: store{},
			pod: corev1.PodSpec{PriorityClassName: SystemClusterCritical}, wantPrio: 2000000000, wantPolicy: corev1.PreemptLowerPriority, wantClass: SystemClusterCritical},
		{name: "built-in node critical", classes: store{},
			pod: corev1.PodSpec{PriorityClassName: SystemNodeCritical}, wantPrio: 2000001000, wantPolicy: corev1.PreemptLowerPriority, wantClass: SystemNodeCritical},
		{name: "conflicting priority is forbidden", classes: store{"high": class("high", 1000, false, "")},
			pod: corev1.PodSpec{PriorityClassName: "high", Priority: ptr(int32(5))}, wantCode: http.StatusForbidden,
			wantErr: "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"},
		{name: "matching priority is fine", classes: store{"high": class("high", 1000, false, "")},
			pod: corev1.PodSpec{PriorityClassName: "high", Priority: ptr(int32(1000))}, wantPrio: 1000, wantClass: "high"},
		{name: "conflicting preemption policy", classes: store{"high": class("high", 1000, false, corev1.PreemptLowerPriority)},
			pod: corev1.PodSpec{PriorityClassName: "high", PreemptionPolicy: ptr(corev1.PreemptNever)}, wantCode: http.StatusForbidden,
			wantErr: "the string value of PreemptionPolicy (Never) must not be provided in pod spec"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: tc.pod}
			err := tc.classes.plugin().Admit(context.Background(), podAttrs(admission.Create, pod))
			if tc.wantErr != "" {
				var se *apierrors.StatusError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !asStatus(err, &se) || se.ErrStatus.Code != tc.wantCode {
					t.Fatalf("err = %#v, want code %d", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pod.Spec.Priority == nil || *pod.Spec.Priority != tc.wantPrio {
				t.Errorf("priority = %v, want %d", pod.Spec.Priority, tc.wantPrio)
			}
			if tc.wantPolicy != "" && (pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != tc.wantPolicy) {
				t.Errorf("preemptionPolicy = %v, want %s", pod.Spec.PreemptionPolicy, tc.wantPolicy)
			}
			if pod.Spec.PriorityClassName != tc.wantClass {
				t.Errorf("priorityClassName = %q, want %q", pod.Spec.PriorityClassName, tc.wantClass)
			}
		})
	}
}

func asStatus(err error, se **apierrors.StatusError) bool {
	s, ok := err.(*apierrors.StatusError)
	*se = s
	return ok
}

func TestAdmitPodUpdateKeepsPriority(t *testing.T) {
	p := store{}.plugin()
	old := &corev1.Pod{Spec: corev1.PodSpec{Priority: ptr(int32(10))}}
	pod := old.DeepCopy()
	a := podAttrs(admission.Update, pod)
	a.OldObject = old
	if err := p.Admit(context.Background(), a); err != nil || *pod.Spec.Priority != 10 {
		t.Fatalf("err=%v priority=%d", err, *pod.Spec.Priority)
	}
}

func TestAdmitPriorityClass(t *testing.T) {
	pcRes := scheduling.Resources()[0]
	tests := []struct {
		name     string
		existing store
		op       admission.Operation
		obj      *schedulingv1.PriorityClass
		old      *schedulingv1.PriorityClass
		wantErr  string
		wantCode int32
	}{
		{name: "user class ok", existing: store{}, op: admission.Create, obj: class("high", 1000000000, false, "")},
		{name: "value above user range", existing: store{}, op: admission.Create, obj: class("huge", 1000000001, false, ""),
			wantCode: http.StatusUnprocessableEntity, wantErr: "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
		{name: "reserved prefix", existing: store{}, op: admission.Create, obj: class("system-mine", 5, false, ""),
			wantCode: http.StatusUnprocessableEntity, wantErr: "priority class names with 'system-' prefix are reserved for system use only"},
		{name: "system class with its value", existing: store{}, op: admission.Create, obj: SystemPriorityClasses()[0]},
		{name: "system class with another value", existing: store{}, op: admission.Create, obj: class(SystemNodeCritical, 5, false, ""),
			wantCode: http.StatusUnprocessableEntity, wantErr: "is a system priority class"},
		{name: "second global default", existing: store{"a": class("a", 1, true, "")}, op: admission.Create, obj: class("b", 2, true, ""),
			wantCode: http.StatusForbidden, wantErr: "PriorityClass a is already marked as default. Only one default can exist"},
		{name: "value immutable", existing: store{}, op: admission.Update, obj: class("a", 2, false, ""), old: class("a", 1, false, corev1.PreemptLowerPriority),
			wantCode: http.StatusUnprocessableEntity, wantErr: "value: Forbidden: may not be changed in an update."},
		{name: "system class cannot be deleted", existing: store{}, op: admission.Delete, obj: nil,
			wantCode: http.StatusForbidden, wantErr: "this is a system priority class and cannot be deleted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &admission.Attributes{Operation: tc.op, Resource: pcRes, Name: SystemNodeCritical}
			if tc.obj != nil {
				a.Name, a.Object = tc.obj.Name, tc.obj.DeepCopy()
			}
			if tc.old != nil {
				a.OldObject = tc.old
			}
			err := tc.existing.plugin().Admit(context.Background(), a)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.obj != nil && *a.Object.(*schedulingv1.PriorityClass).PreemptionPolicy == "" {
					t.Error("preemptionPolicy not defaulted")
				}
				return
			}
			var se *apierrors.StatusError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !asStatus(err, &se) || se.ErrStatus.Code != tc.wantCode {
				t.Fatalf("err = %v, want %d %q", err, tc.wantCode, tc.wantErr)
			}
		})
	}
}

func TestSystemPriorityClasses(t *testing.T) {
	want := map[string]int32{SystemClusterCritical: 2000000000, SystemNodeCritical: 2000001000}
	got := SystemPriorityClasses()
	if len(got) != len(want) {
		t.Fatalf("got %d classes", len(got))
	}
	for _, pc := range got {
		if want[pc.Name] != pc.Value || pc.GlobalDefault || pc.Description == "" {
			t.Errorf("%s: %+v", pc.Name, pc)
		}
	}
}
