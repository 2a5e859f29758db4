package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/storage/cacher"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/storage/etcd/etcdtest"
)

// sharedReaders are watchers of a store that keep reading (encoding) the
// shared objects they received, as slow watch streams do, and remember a
// private copy of each to check later that nobody wrote to it.
type sharedReaders struct {
	mu     sync.Mutex
	seen   map[string]runtime.Object // latest object per name@rv
	copies map[runtime.Object]runtime.Object
}

func (r *sharedReaders) add(obj runtime.Object) {
	m := obj.(metav1.Object)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.copies[obj]; !ok {
		r.copies[obj] = obj.DeepCopyObject()
	}
	r.seen[m.GetName()+"@"+m.GetResourceVersion()] = obj
}

func (r *sharedReaders) has(name, rv string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[name+"@"+rv]
	return ok
}

// readAll encodes every object received so far once.
func (r *sharedReaders) readAll(t *testing.T) {
	r.mu.Lock()
	objs := make([]runtime.Object, 0, len(r.copies))
	for obj := range r.copies {
		objs = append(objs, obj)
	}
	r.mu.Unlock()
	for _, obj := range objs {
		if _, err := json.Marshal(obj); err != nil {
			t.Error(err)
		}
	}
}

// touchAll writes every map entry and slice element reachable in a pod
// (with the values they hold): any part of it shared with a watcher's
// object is then a data race the race detector reports, and a changed
// shared object shows in sharedReaders' copies.
func touchAll(p *corev1.Pod) {
	for k, v := range p.Labels {
		p.Labels[k] = v
	}
	for k, v := range p.Annotations {
		p.Annotations[k] = v
	}
	for i := range p.Finalizers {
		p.Finalizers[i] += ""
	}
	for i := range p.OwnerReferences {
		p.OwnerReferences[i].Name += ""
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Image += ""
	}
	for i := range p.Status.Conditions {
		p.Status.Conditions[i].Message += ""
	}
	if t := p.DeletionTimestamp; t != nil {
		*t = metav1.NewTime(t.Time)
	}
	if g := p.DeletionGracePeriodSeconds; g != nil {
		*g += 0
	}
}

// TestUpdatesShareNothingWithWatchers runs bindings, status updates and
// main updates (with the pod strategy's hooks and an admission that
// writes everywhere) on objects the store's watchers share, while they
// keep reading them. Run with -race: an update that wrote through any
// part of the shared object is a reported race (the writes keep the
// values, so only the race detector sees them). The shared objects are
// also compared with copies taken when they arrived, which catches
// changed values without it.
func TestUpdatesShareNothingWithWatchers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := etcdtest.Start(t)
	c := cacher.New(etcd.New(e.Client()), "/registry/", cacher.WithBookmarkInterval(50*time.Millisecond))
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	defer func() { cancel(); <-done }()
	<-c.Ready()
	s := registry.NewStore(core.Pods(), c, registry.NewProtobufCodec(scheme.Scheme))

	readers := &sharedReaders{seen: map[string]runtime.Object{}, copies: map[runtime.Object]runtime.Object{}}
	var wg sync.WaitGroup
	for range 2 {
		events, err := s.Watch(ctx, "", registry.WatchOptions{ListOptions: registry.ListOptions{ResourceVersion: "0"}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range events {
				readers.add(ev.Object)
			}
		}()
	}
	stopReading := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopReading:
				return
			default:
				readers.readAll(t)
			}
		}
	}()

	const pods = 5
	for i := range pods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns",
			Labels: map[string]string{"app": "x"}, Annotations: map[string]string{"a": "b"}, Finalizers: []string{"example.com/f"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := s.Create(ctx, "ns", pod, registry.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	updates := []struct {
		name string
		run  func(name string) (runtime.Object, error)
	}{
		{"binding", func(name string) (runtime.Object, error) {
			out, _, err := s.Update(ctx, "ns", name, bindTo("node-1"), registry.UpdateOptions{Subresource: "binding"})
			return out, err
		}},
		{"status", func(name string) (runtime.Object, error) {
			out, _, err := s.Update(ctx, "ns", name, setReady, registry.UpdateOptions{Subresource: "status", Admit: admitTouching})
			return out, err
		}},
		{"main", func(name string) (runtime.Object, error) {
			out, _, err := s.Update(ctx, "ns", name, addLabel("tier", "web"), registry.UpdateOptions{Admit: admitTouching})
			return out, err
		}},
	}
	for _, u := range updates {
		for i := range pods {
			name := fmt.Sprintf("p%d", i)
			waitShared(t, s, readers, name)
			out, err := u.run(name)
			if err != nil {
				t.Fatalf("%s of %s: %v", u.name, name, err)
			}
			touchAll(out.(*corev1.Pod)) // as a response writer may
		}
	}
	for i := range pods {
		name := fmt.Sprintf("p%d", i)
		waitShared(t, s, readers, name)
		got, err := s.Get(ctx, "ns", name)
		if err != nil {
			t.Fatal(err)
		}
		p := got.(*corev1.Pod)
		if p.Spec.NodeName != "node-1" || p.Labels["tier"] != "web" || len(p.Status.Conditions) != 2 || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s after the updates: node %q, labels %v, status %+v", name, p.Spec.NodeName, p.Labels, p.Status)
		}
	}
	close(stopReading)
	cancel()
	wg.Wait()
	for obj, cp := range readers.copies {
		if !equality.Semantic.DeepEqual(obj, cp) {
			t.Errorf("a shared object changed after watchers got it:\n got %#v\nwant %#v", obj, cp)
		}
	}
}

// waitShared waits until the watchers got the pod's current version, so
// that an update of it finds the shared decoded object.
func waitShared(t *testing.T, s *registry.Store, readers *sharedReaders, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := s.GetCached(context.Background(), "ns", name)
		if err != nil {
			t.Fatal(err)
		}
		rv := cur.(metav1.Object).GetResourceVersion()
		n, _ := strconv.ParseInt(rv, 10, 64)
		if _, ok := registry.SharedDecode(s, s.Key("ns", name), n); ok && readers.has(name, rv) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watchers never got %s at %s", name, rv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bindTo is the binding handler's update.
func bindTo(node string) registry.UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Spec.NodeName = node
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		p.Annotations["bound"] = "yes"
		return p, nil
	}
}

// setReady is a status write that sends a new object (like PUT).
func setReady(cur runtime.Object) (runtime.Object, error) {
	p := cur.(*corev1.Pod).DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
	return p, nil
}

func addLabel(k, v string) registry.UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Labels[k] = v
		return p, nil
	}
}

// admitTouching is an admission that writes through every part of the
// new object and reads the old one.
func admitTouching(_ context.Context, obj, old runtime.Object) error {
	touchAll(obj.(*corev1.Pod))
	if _, err := json.Marshal(old); err != nil {
		return err
	}
	return nil
}
