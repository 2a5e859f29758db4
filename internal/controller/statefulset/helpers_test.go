package statefulset_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
)

var ctx = context.Background()

// statefulSet is an OrderedReady, RollingUpdate fixture with a headless
// service name.
func statefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: name + "-svc",
			Selector:    &metav1.LabelSelector{MatchLabels: controllertest.Labels(name)},
			Template:    controllertest.PodTemplate(name, "nginx:1.27"),
		},
	}
}

func create(t *testing.T, c kubernetes.Interface, set *appsv1.StatefulSet) *appsv1.StatefulSet {
	t.Helper()
	out, err := c.AppsV1().StatefulSets(set.Namespace).Create(ctx, set, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func patch(t *testing.T, c kubernetes.Interface, ns, name, p string) {
	t.Helper()
	if _, err := c.AppsV1().StatefulSets(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch %s: %v", p, err)
	}
}

func scale(t *testing.T, c kubernetes.Interface, ns, name string, n int) {
	t.Helper()
	patch(t, c, ns, name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
}

func setImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patch(t, c, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, image))
}

// want is a status to wait for; current and updated are checked only
// with revs.
type want struct {
	replicas, ready, current, updated int32
	revs                              bool
	// rolledOut wants currentRevision == updateRevision.
	rolledOut bool
}

// waitStatus waits until the set reports w for its current generation.
func waitStatus(t *testing.T, c kubernetes.Interface, ns, name string, w want) *appsv1.StatefulSet {
	t.Helper()
	var set *appsv1.StatefulSet
	controllertest.Eventually(t, fmt.Sprintf("statefulset %s status %+v", name, w), func() (bool, error) {
		var err error
		set, err = c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := set.Status
		ok := s.ObservedGeneration == set.Generation &&
			s.Replicas == w.replicas && s.ReadyReplicas == w.ready &&
			(!w.revs || (s.CurrentReplicas == w.current && s.UpdatedReplicas == w.updated)) &&
			(!w.rolledOut || s.CurrentRevision == s.UpdateRevision)
		return ok, fmt.Errorf("status %+v", s)
	})
	return set
}

// pods returns the set's live pods by name.
func pods(t *testing.T, c kubernetes.Interface, ns string) map[string]corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p
		}
	}
	return out
}

func names(m map[string]corev1.Pod) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func ordinal(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
	return n
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

// tracker watches a namespace's pods and checks the OrderedReady rules on
// every create and delete it sees, in the order the API server made them.
type tracker struct {
	t  *testing.T
	mu sync.Mutex
	// pods is the watched state; created and deleted list names in order;
	// violations describes every broken rule.
	pods       map[string]*corev1.Pod
	created    []string
	deleted    []string
	violations []string
	// higherMustBeGone makes a delete while a higher ordinal exists a
	// violation (scale-down); a rolling update deletes below updated pods.
	higherMustBeGone bool
}

func track(t *testing.T, c kubernetes.Interface, ns string, scaleDown bool) *tracker {
	tr := &tracker{t: t, pods: map[string]*corev1.Pod{}, higherMustBeGone: scaleDown}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { tr.add(o.(*corev1.Pod)) },
		UpdateFunc: func(old, o any) { tr.update(old.(*corev1.Pod), o.(*corev1.Pod)) },
		DeleteFunc: func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				tr.remove(p)
			}
		},
	})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("pod cache did not sync")
	}
	return tr
}

func (tr *tracker) add(p *corev1.Pod) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for name, q := range tr.pods {
		if ordinal(name) < ordinal(p.Name) && !ready(q) {
			tr.violations = append(tr.violations, fmt.Sprintf("%s created while %s was not ready", p.Name, name))
		}
	}
	for i := 0; i < ordinal(p.Name); i++ {
		if _, ok := tr.pods[fmt.Sprintf("%s-%d", p.Name[:strings.LastIndex(p.Name, "-")], i)]; !ok && ordinal(p.Name) > 0 {
			tr.violations = append(tr.violations, fmt.Sprintf("%s created before ordinal %d existed", p.Name, i))
		}
	}
	tr.pods[p.Name] = p
	tr.created = append(tr.created, p.Name)
}

func (tr *tracker) update(old, p *corev1.Pod) {
	if old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
		tr.deleting(p)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.pods[p.Name] = p
}

func (tr *tracker) remove(p *corev1.Pod) {
	tr.mu.Lock()
	known := tr.pods[p.Name]
	tr.mu.Unlock()
	if known != nil && known.DeletionTimestamp == nil {
		tr.deleting(p)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	delete(tr.pods, p.Name)
}

// deleting checks a scale-down or update delete: no higher ordinal may
// still be there, and every lower one must be ready.
func (tr *tracker) deleting(p *corev1.Pod) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for name, q := range tr.pods {
		switch {
		case tr.higherMustBeGone && ordinal(name) > ordinal(p.Name):
			tr.violations = append(tr.violations, fmt.Sprintf("%s deleted while %s existed", p.Name, name))
		case ordinal(name) < ordinal(p.Name) && !ready(q):
			tr.violations = append(tr.violations, fmt.Sprintf("%s deleted while %s was not ready", p.Name, name))
		}
	}
	tr.deleted = append(tr.deleted, p.Name)
}

// check fails the test on any violation and returns the create and delete
// orders seen so far.
func (tr *tracker) check() (created, deleted []string) {
	tr.t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.violations) > 0 {
		tr.t.Fatalf("OrderedReady violated:\n%s", strings.Join(tr.violations, "\n"))
	}
	return slices.Clone(tr.created), slices.Clone(tr.deleted)
}

// imagesAre fails unless every pod runs image.
func imagesAre(t *testing.T, ps map[string]corev1.Pod, image string) {
	t.Helper()
	for name, p := range ps {
		if got := p.Spec.Containers[0].Image; got != image {
			t.Fatalf("pod %s runs %s, want %s", name, got, image)
		}
	}
}
