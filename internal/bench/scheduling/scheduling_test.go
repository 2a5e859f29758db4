package scheduling

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// shortWatches asks the server to end every watch after a second, as it
// ends the watch of a client that falls behind.
type shortWatches struct {
	metadata.ResourceInterface
	calls atomic.Int32
}

func (p *shortWatches) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	p.calls.Add(1)
	one := int64(1)
	o.TimeoutSeconds = &one
	return p.ResourceInterface.Watch(ctx, o)
}

func TestCollectBindingsResumesEndedWatches(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	meta, err := podMetadata(s.Config, "default")
	if err != nil {
		t.Fatal(err)
	}
	watches := &shortWatches{ResourceInterface: meta}
	list, err := meta.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := s.Client.CoreV1().Pods("default")
	// An unbound pod is not a binding: the watch leaves it out.
	if err := createPod(ctx, s.Client, "default", benchPod(3)); err != nil {
		t.Fatal(err)
	}
	bound := func(i int) *corev1.Pod {
		p := benchPod(i)
		p.Spec.NodeName = "somewhere" // created bound: no scheduler needed
		return p
	}
	result := make(chan map[string]time.Time, 1)
	go func() {
		b, err := collectBindings(ctx, watches, list.ResourceVersion, 3)
		if err != nil {
			t.Error(err)
		}
		result <- b
	}()
	if _, err := pods.Create(ctx, bound(0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for watches.calls.Load() < 2 { // the first watch ended and a second one started
		select {
		case <-ctx.Done():
			t.Fatal("the watch was not resumed")
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := 1; i < 3; i++ {
		if err := createPod(ctx, s.Client, "default", bound(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := <-result
	for i := range 3 {
		if _, ok := got[podName(i)]; !ok {
			t.Errorf("%s not seen bound; saw %v", podName(i), got)
		}
	}
	if _, ok := got[podName(3)]; ok || len(got) != 3 {
		t.Errorf("saw %v, want exactly the three bound pods", got)
	}
}

func TestPerSecond(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	bindings := map[string]time.Time{"a": at(10), "b": at(900), "c": at(1500), "d": at(2100), "e": at(2200), "f": at(2300), "g": at(2600)}
	got := perSecond(bindings, start, at(2600))
	if want := []int{2, 1}; !slices.Equal(got, want) { // the partial third second is left out
		t.Fatalf("perSecond = %v, want %v", got, want)
	}
	tests := []struct {
		samples []int
		want    int
	}{{nil, 0}, {[]int{5}, 5}, {[]int{9, 1, 5}, 5}, {[]int{4, 8, 2, 6}, 4}}
	for _, tc := range tests {
		if got := Median(tc.samples); got != tc.want {
			t.Errorf("Median(%v) = %d, want %d", tc.samples, got, tc.want)
		}
	}
}
