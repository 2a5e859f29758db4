package priority

import (
	"context"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
)

// versionedStore is a store whose version moves on every change, as a
// watch cache's revision does.
type versionedStore struct {
	classes store
	version int
	// lists counts the lists.
	lists int
}

func (v *versionedStore) set(pc *schedulingv1.PriorityClass) {
	v.classes[pc.Name] = pc
	v.version++
}

func (v *versionedStore) remove(name string) {
	delete(v.classes, name)
	v.version++
}

func (v *versionedStore) plugin() *Plugin {
	p := v.classes.plugin()
	list := p.list
	p.list = func(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
		v.lists++
		return list(ctx)
	}
	return p.RememberDefault(func(context.Context) (string, error) { return strconv.Itoa(v.version), nil })
}

// admitDefault admits a pod without priorityClassName and returns what it
// got.
func admitDefault(t *testing.T, p *Plugin) (string, int32, corev1.PreemptionPolicy) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	if err := p.Admit(context.Background(), podAttrs(admission.Create, pod)); err != nil {
		t.Fatal(err)
	}
	return pod.Spec.PriorityClassName, *pod.Spec.Priority, *pod.Spec.PreemptionPolicy
}

// TestRememberedDefaultFollowsChanges: with the default remembered, every
// change of the classes is honoured by the next pod create.
func TestRememberedDefaultFollowsChanges(t *testing.T) {
	s := &versionedStore{classes: store{"other": class("other", 50, false, corev1.PreemptLowerPriority)}}
	p := s.plugin()
	type want struct {
		class  string
		prio   int32
		policy corev1.PreemptionPolicy
	}
	steps := []struct {
		name   string
		change func()
		want   want
	}{
		{name: "no default", change: func() {}, want: want{"", 0, corev1.PreemptLowerPriority}},
		{name: "default created", change: func() { s.set(class("def", 7, true, corev1.PreemptNever)) },
			want: want{"def", 7, corev1.PreemptNever}},
		{name: "unrelated class created", change: func() { s.set(class("more", 9, false, corev1.PreemptLowerPriority)) },
			want: want{"def", 7, corev1.PreemptNever}},
		{name: "default no longer default", change: func() { s.set(class("def", 7, false, corev1.PreemptNever)) },
			want: want{"", 0, corev1.PreemptLowerPriority}},
		{name: "another class made default", change: func() { s.set(class("other", 50, true, corev1.PreemptLowerPriority)) },
			want: want{"other", 50, corev1.PreemptLowerPriority}},
		{name: "default deleted", change: func() { s.remove("other") },
			want: want{"", 0, corev1.PreemptLowerPriority}},
	}
	for _, step := range steps {
		step.change()
		for i := 0; i < 2; i++ { // remembered the second time
			class, prio, policy := admitDefault(t, p)
			if got := (want{class, prio, policy}); got != step.want {
				t.Errorf("%s (pod %d): got %+v, want %+v", step.name, i, got, step.want)
			}
		}
	}
}

// TestRememberedDefaultListsOnChangeOnly: pods cost a list only when the
// classes' version moved.
func TestRememberedDefaultListsOnChangeOnly(t *testing.T) {
	s := &versionedStore{classes: store{"def": class("def", 7, true, corev1.PreemptLowerPriority)}}
	p := s.plugin()
	for i := 0; i < 5; i++ {
		admitDefault(t, p)
	}
	if s.lists != 1 {
		t.Errorf("5 pods, unchanged classes: %d lists, want 1", s.lists)
	}
	s.set(class("x", 1, false, ""))
	admitDefault(t, p)
	admitDefault(t, p)
	if s.lists != 2 {
		t.Errorf("after a change: %d lists, want 2", s.lists)
	}
}

// TestRememberedDefaultChangeDuringList: a default created while a pod's
// create listed the classes is honoured by the next pod.
func TestRememberedDefaultChangeDuringList(t *testing.T) {
	s := &versionedStore{classes: store{}}
	p := s.plugin()
	list := p.list
	p.list = func(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
		out, err := list(ctx)
		if s.lists == 1 {
			// A default appears right after the first list read the classes.
			s.set(class("def", 3, true, corev1.PreemptLowerPriority))
		}
		return out, err
	}
	if class, _, _ := admitDefault(t, p); class != "" {
		t.Fatalf("first pod got class %q, want none (listed before the default existed)", class)
	}
	if class, prio, _ := admitDefault(t, p); class != "def" || prio != 3 {
		t.Errorf("second pod got %q/%d, want def/3", class, prio)
	}
}

// TestRememberedDefaultPolicyNotShared: pods get their own copy of the
// class's preemption policy.
func TestRememberedDefaultPolicyNotShared(t *testing.T) {
	s := &versionedStore{classes: store{"def": class("def", 7, true, corev1.PreemptNever)}}
	p := s.plugin()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	if err := p.Admit(context.Background(), podAttrs(admission.Create, pod)); err != nil {
		t.Fatal(err)
	}
	*pod.Spec.PreemptionPolicy = corev1.PreemptLowerPriority
	if _, _, policy := admitDefault(t, p); policy != corev1.PreemptNever {
		t.Errorf("next pod's policy = %s after the first pod's changed, want Never", policy)
	}
}
