package apiserver

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// upstreamWatchFrame is a frame as encodeWatchEvent wrote it before
// package envelope: the event's object rendered by transform, encoded by
// apimachinery's serializer, then wrapped in a metav1.WatchEvent behind
// its length (protobuf) or in {"type","object"} (JSON).
func upstreamWatchFrame(t *testing.T, s *Server, r *http.Request, h *resourceHandler, f outputFormat, ev watch.Event) []byte {
	t.Helper()
	obj := ev.Object
	var err error
	switch {
	case ev.Type == watch.Bookmark && f.As == "Table":
		obj = &metav1.Table{ListMeta: metav1.ListMeta{ResourceVersion: rvOf(obj)}}
		obj.GetObjectKind().SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Table"))
	case ev.Type == watch.Error:
		s.ser.setKind(obj, metav1.Unversioned)
	default:
		if obj, err = s.transform(r, h, f, obj); err != nil {
			t.Fatal(err)
		}
	}
	var body bytes.Buffer
	if f.MediaType == mediaProtobuf {
		if err := s.ser.protobuf.Encode(obj, &body); err != nil {
			t.Fatal(err)
		}
		data, err := (&metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: body.Bytes()}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(data))), data...)
	}
	if err := s.ser.json.Encode(obj, &body); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"type":"` + string(ev.Type) + `","object":` + string(bytes.TrimRight(body.Bytes(), "\n")) + "}\n")
}

// TestWatchFramesMatchUpstream checks that watch frames are byte for byte
// what the serializer-based encoding made, for every kind of event and
// format a pod watch serves.
func TestWatchFramesMatchUpstream(t *testing.T) {
	s := wireServer(t, nil)
	h := s.handlers[schema.GroupVersionResource{Version: "v1", Resource: "pods"}]
	protobuf := outputFormat{MediaType: mediaProtobuf}
	pod := wirePod(corev1.PodRunning)
	pod.ResourceVersion = "17"
	bookmark := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "18"}}
	// A table row's age depends on the clock unless the pod has no
	// creation time.
	ageless := pod.DeepCopy()
	ageless.CreationTimestamp = metav1.Time{}
	tests := []struct {
		name string
		f    outputFormat
		ev   watch.Event
	}{
		{"added pod", protobuf, watch.Event{Type: watch.Added, Object: pod}},
		{"modified pod", protobuf, watch.Event{Type: watch.Modified, Object: pod}},
		{"deleted pod", protobuf, watch.Event{Type: watch.Deleted, Object: pod}},
		{"empty pod", protobuf, watch.Event{Type: watch.Added, Object: &corev1.Pod{}}},
		{"bookmark", protobuf, watch.Event{Type: watch.Bookmark, Object: bookmark}},
		{"error status", protobuf, watch.Event{Type: watch.Error, Object: &metav1.Status{Status: metav1.StatusFailure,
			Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 3"}}},
		{"partial object metadata", outputFormat{MediaType: mediaProtobuf, As: "PartialObjectMetadata", AsVersion: "v1"},
			watch.Event{Type: watch.Modified, Object: pod}},
		{"partial object metadata v1beta1", outputFormat{MediaType: mediaProtobuf, As: "PartialObjectMetadata", AsVersion: "v1beta1"},
			watch.Event{Type: watch.Added, Object: pod}},
		{"json pod", outputFormat{MediaType: mediaJSON}, watch.Event{Type: watch.Added, Object: pod}},
		{"json error status", outputFormat{MediaType: mediaJSON}, watch.Event{Type: watch.Error, Object: &metav1.Status{Status: metav1.StatusFailure, Code: 500}}},
		{"table", outputFormat{MediaType: mediaJSON, As: "Table", AsVersion: "v1"}, watch.Event{Type: watch.Modified, Object: ageless}},
		{"table bookmark", outputFormat{MediaType: mediaJSON, As: "Table", AsVersion: "v1"}, watch.Event{Type: watch.Bookmark, Object: bookmark}},
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/pods?watch=true", nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := upstreamWatchFrame(t, s, r, h, tc.f, watch.Event{Type: tc.ev.Type, Object: tc.ev.Object.DeepCopyObject()})
			got, err := s.encodeWatchEvent(r, h, tc.f, watch.Event{Type: tc.ev.Type, Object: tc.ev.Object.DeepCopyObject()})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame differs:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestEncodeProtobufMatchesUpstream checks response bodies against the
// serializer: single objects, lists, statuses and partial metadata.
func TestEncodeProtobufMatchesUpstream(t *testing.T) {
	s := wireServer(t, nil)
	withKind := func(obj runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj
	}
	pod := wirePod(corev1.PodRunning)
	tests := []struct {
		name string
		obj  runtime.Object
	}{
		{"pod", withKind(pod.DeepCopy(), corev1.SchemeGroupVersion.WithKind("Pod"))},
		{"pod list", withKind(&corev1.PodList{Items: []corev1.Pod{*pod, *pod}}, corev1.SchemeGroupVersion.WithKind("PodList"))},
		{"status", withKind(&metav1.Status{Status: metav1.StatusSuccess}, schema.GroupVersionKind{Version: "v1", Kind: "Status"})},
		{"partial object metadata list", withKind(&metav1.PartialObjectMetadataList{Items: []metav1.PartialObjectMetadata{{ObjectMeta: pod.ObjectMeta}}},
			metav1.SchemeGroupVersion.WithKind("PartialObjectMetadataList"))},
		{"runtime.Unknown", &runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "v1", Kind: "Pod"}, Raw: []byte{1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := s.ser.protobuf.Encode(tc.obj, &want); err != nil {
				t.Fatal(err)
			}
			got, err := s.ser.encode(outputFormat{MediaType: mediaProtobuf}, tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("body differs:\n got %q\nwant %q", got, want.Bytes())
			}
		})
	}
}
