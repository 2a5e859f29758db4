package apiserver

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/storage"
)

// TestSharedEventKindIsServedKind checks that the kind the registry
// stamps on decoded watch events it shares (the resource's kind) is the
// one the response path would have set from the scheme.
func TestSharedEventKindIsServedKind(t *testing.T) {
	s := wireServer(t, nil)
	for _, r := range s.cfg.Resources {
		if r.Conversion != nil || r.New == nil {
			continue
		}
		obj := r.New()
		if _, unstructured := obj.(runtime.Unstructured); unstructured {
			continue
		}
		s.ser.setKind(obj, r.GVR.GroupVersion())
		if got := obj.GetObjectKind().GroupVersionKind(); got != r.GroupVersionKind() {
			t.Errorf("%s: scheme kind %s, resource kind %s", r.GVR, got, r.GroupVersionKind())
		}
	}
}

// TestWatchersShareEventsSafely runs watchers of every format over the
// same decoded events at once (run it with -race): none may write to the
// shared objects, and each frame must carry its own event's pod.
func TestWatchersShareEventsSafely(t *testing.T) {
	const events = 40
	feed := &feedStorage{watches: make(chan chan storage.Event, 8)}
	s := wireServer(t, feed)
	h := s.handlers[schema.GroupVersionResource{Version: "v1", Resource: "pods"}]
	var values [][]byte
	for _, phase := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning} {
		v, err := s.codec.Encode(wirePod(phase), corev1.SchemeGroupVersion.WithKind("Pod"))
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	formats := []outputFormat{
		{MediaType: mediaProtobuf}, {MediaType: mediaProtobuf}, {MediaType: mediaJSON},
		{MediaType: mediaProtobuf, As: "PartialObjectMetadata", AsVersion: "v1"},
		{MediaType: mediaJSON, As: "Table", AsVersion: "v1"}, {MediaType: mediaProtobuf},
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/pods?watch=true", nil)
	var wg sync.WaitGroup
	var ins []chan storage.Event
	for i, f := range formats {
		opts := registry.WatchOptions{ListOptions: registry.ListOptions{ResourceVersion: "1", Fields: fields.Everything()}}
		if i == len(formats)-1 {
			opts.Fields = fields.ParseSelectorOrDie("status.phase!=Failed")
		}
		out, err := h.store.Watch(t.Context(), "", opts)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, <-feed.watches)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range events {
				ev := <-out
				frame, err := s.watchFrame(r, h, f, ev)
				if err != nil {
					t.Errorf("watcher %d: %v", i, err)
					return
				}
				if f == (outputFormat{MediaType: mediaProtobuf}) {
					checkPodFrame(t, s, frame, strconv.Itoa(n+2))
				}
			}
		}()
	}
	for n := range events {
		ev := storage.Event{Type: storage.Modified, Key: "/registry/pods/bench/bench-pod-12345",
			Value: values[n%2], PrevValue: values[(n+1)%2], Revision: int64(n + 2)}
		for _, in := range ins {
			in <- ev
		}
	}
	wg.Wait()
}

// checkPodFrame decodes a protobuf watch frame and checks it is a
// MODIFIED event of the pod at resourceVersion rv.
func checkPodFrame(t *testing.T, s *Server, frame []byte, rv string) {
	t.Helper()
	var we metav1.WatchEvent
	if n := binary.BigEndian.Uint32(frame); int(n) != len(frame)-4 {
		t.Errorf("frame length %d, want %d", n, len(frame)-4)
		return
	}
	if err := we.Unmarshal(frame[4:]); err != nil {
		t.Errorf("frame: %v", err)
		return
	}
	obj, _, err := s.ser.protobuf.Decode(we.Object.Raw, nil, nil)
	if err != nil {
		t.Errorf("frame object: %v", err)
		return
	}
	pod, ok := obj.(*corev1.Pod)
	if we.Type != string(watch.Modified) || !ok || pod.Name != "bench-pod-12345" || pod.ResourceVersion != rv || pod.Kind != "Pod" {
		t.Errorf("frame is %s %T %v, want MODIFIED of the pod at %s", we.Type, obj, obj, rv)
	}
}
