package apiserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/storage"
)

// feedStorage is a storage whose watches receive what the test sends on
// them: the registry's watch path without etcd or the watch cache.
type feedStorage struct {
	storage.Interface
	watches chan chan storage.Event
}

func (f *feedStorage) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	ch := make(chan storage.Event, 1)
	f.watches <- ch
	return ch, nil
}

func (f *feedStorage) CurrentRevision(context.Context) (int64, error) { return 1, nil }

// wireServer is a server with the built-in resources over st.
func wireServer(tb testing.TB, st storage.Interface) *Server {
	tb.Helper()
	s, err := New(Config{Scheme: NewScheme(), Resources: BuiltinResources(core.Deps{}), Storage: st})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// wirePod is a pod as the scheduler benchmark makes them, bound and
// running: the typical object of a pod watch event.
func wirePod(phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-pod-12345", Namespace: "bench", UID: "0b5e5a3c-9d43-4a53-8a4c-5fd2b8b1e3a1",
			Labels:            map[string]string{"app": "bench", "group": "g-17"},
			Annotations:       map[string]string{"note": "a pod of the scheduler benchmark"},
			CreationTimestamp: metav1.Unix(1700000000, 0),
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "skiff-bench", Operation: metav1.ManagedFieldsOperationUpdate,
				APIVersion: "v1", FieldsType: "FieldsV1", Time: &metav1.Time{Time: metav1.Unix(1700000000, 0).Time},
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}}}}`)}}},
		},
		Spec: corev1.PodSpec{
			NodeName:           "node-0042",
			SchedulerName:      "default-scheduler",
			RestartPolicy:      corev1.RestartPolicyAlways,
			DNSPolicy:          corev1.DNSClusterFirst,
			ServiceAccountName: "default",
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
				Ports:                    []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env:                      []corev1.EnvVar{{Name: "MODE", Value: "bench"}},
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy:          corev1.PullIfNotPresent}},
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
		},
		Status: corev1.PodStatus{Phase: phase, QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.Unix(1700000001, 0)}}},
	}
}

// BenchmarkWatchFanout measures one pod event reaching eight pod watchers,
// as in the scheduler benchmark: the registry decodes it (and, for the
// watcher with a field selector, the previous value) and every watcher
// gets its frame (five protobuf, one protobuf with a selector, two JSON).
func BenchmarkWatchFanout(b *testing.B) {
	feed := &feedStorage{watches: make(chan chan storage.Event, 8)}
	s := wireServer(b, feed)
	h := s.handlers[schema.GroupVersionResource{Version: "v1", Resource: "pods"}]
	values := make([][]byte, 2)
	for i, phase := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning} {
		v, err := s.codec.Encode(wirePod(phase), corev1.SchemeGroupVersion.WithKind("Pod"))
		if err != nil {
			b.Fatal(err)
		}
		values[i] = v
	}
	type watcher struct {
		in     chan storage.Event
		out    <-chan watch.Event
		format outputFormat
	}
	selector := fields.ParseSelectorOrDie("status.phase!=Succeeded,status.phase!=Failed")
	var watchers []watcher
	for i := range 8 {
		opts := registry.WatchOptions{ListOptions: registry.ListOptions{ResourceVersion: "1", Labels: nil, Fields: fields.Everything()}}
		f := outputFormat{MediaType: mediaProtobuf}
		switch {
		case i == 5:
			opts.Fields = selector
		case i >= 6:
			f.MediaType = mediaJSON
		}
		out, err := h.store.Watch(b.Context(), "", opts)
		if err != nil {
			b.Fatal(err)
		}
		watchers = append(watchers, watcher{in: <-feed.watches, out: out, format: f})
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/pods?watch=true", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := storage.Event{Type: storage.Modified, Key: "/registry/pods/bench/bench-pod-12345",
			Value: values[i%2], PrevValue: values[(i+1)%2], Revision: int64(i + 2), PrevRevision: int64(i + 1)}
		for _, w := range watchers {
			w.in <- ev
		}
		for _, w := range watchers {
			we := <-w.out
			if _, err := s.watchFrame(r, h, w.format, we); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncodeProtobuf measures encoding a pod for a response and for
// storage.
func BenchmarkEncodeProtobuf(b *testing.B) {
	s := wireServer(b, nil)
	pod := wirePod(corev1.PodRunning)
	b.Run("response", func(b *testing.B) {
		pod.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
		b.ReportAllocs()
		for range b.N {
			if _, err := s.ser.encode(outputFormat{MediaType: mediaProtobuf}, pod); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("storage", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := s.codec.Encode(pod, corev1.SchemeGroupVersion.WithKind("Pod")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		v, err := s.codec.Encode(pod, corev1.SchemeGroupVersion.WithKind("Pod"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for range b.N {
			if err := s.codec.Decode(v, &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
