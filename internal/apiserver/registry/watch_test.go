package registry_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/storage/etcd/etcdtest"
)

// endingStorage ends every watch after the backend's first event with
// the error end.
type endingStorage struct {
	storage.Interface
	end error
}

func (s endingStorage) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	in, err := s.Interface.Watch(ctx, prefix, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan storage.Event, 2)
	go func() {
		defer close(out)
		if ev, ok := <-in; ok {
			out <- ev
		}
		out <- storage.Event{Type: storage.Error, Err: s.end}
	}()
	return out, nil
}

// TestWatchEnd checks how a watch the storage ended reaches clients: a
// dropped watch ends the stream quietly (clients resume from their last
// resourceVersion), a compacted one with 410 Gone (clients relist).
func TestWatchEnd(t *testing.T) {
	tests := []struct {
		name     string
		end      error
		wantGone bool
	}{
		{name: "dropped for falling behind", end: storage.ErrWatchDropped},
		{name: "compacted", end: storage.ErrCompacted, wantGone: true},
	}
	e := etcdtest.Start(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st := endingStorage{Interface: etcd.New(e.Client()), end: tc.end}
			s := registry.NewStore(core.ConfigMaps(), st, registry.NewProtobufCodec(scheme.Scheme))
			ns := fmt.Sprint("watch-end-", i)
			rev, err := st.CurrentRevision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w, err := s.Watch(ctx, ns, registry.WatchOptions{ListOptions: registry.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10)}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, ns, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, registry.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			var got []watch.Event
			for ev := range w {
				got = append(got, ev)
			}
			if len(got) == 0 || got[0].Type != watch.Added {
				t.Fatalf("events = %v, want Added first", got)
			}
			last := got[len(got)-1]
			gone := last.Type == watch.Error && last.Object.(*metav1.Status).Code == 410
			if gone != tc.wantGone || (!tc.wantGone && len(got) != 1) {
				t.Fatalf("events = %v, want 410 Gone at the end: %v", got, tc.wantGone)
			}
		})
	}
}
