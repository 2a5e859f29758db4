package scheduling

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// shortWatches asks the server to end every watch after a second, as it
// ends the watch of a client that falls behind.
type shortWatches struct {
	typedcorev1.PodInterface
	calls atomic.Int32
}

func (p *shortWatches) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	p.calls.Add(1)
	one := int64(1)
	o.TimeoutSeconds = &one
	return p.PodInterface.Watch(ctx, o)
}

func TestCollectBindingsResumesEndedWatches(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods := &shortWatches{PodInterface: s.Client.CoreV1().Pods("default")}
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := func(i int) *corev1.Pod {
		p := benchPod(i)
		p.Spec.NodeName = "somewhere" // created bound: no scheduler needed
		return p
	}
	result := make(chan map[string]time.Time, 1)
	go func() {
		b, err := collectBindings(ctx, pods, list.ResourceVersion, 3)
		if err != nil {
			t.Error(err)
		}
		result <- b
	}()
	if _, err := pods.Create(ctx, bound(0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for pods.calls.Load() < 2 { // the first watch ended and a second one started
		select {
		case <-ctx.Done():
			t.Fatal("the watch was not resumed")
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := 1; i < 3; i++ {
		if _, err := pods.Create(ctx, bound(i), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got := <-result
	for i := range 3 {
		if _, ok := got[podName(i)]; !ok {
			t.Errorf("%s not seen bound; saw %v", podName(i), got)
		}
	}
}
