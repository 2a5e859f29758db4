package envelope

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/resource"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
)

// upstreamEnvelope is obj as apimachinery's serializer writes it.
func upstreamEnvelope(t *testing.T, obj runtime.Object, gvk schema.GroupVersionKind) []byte {
	t.Helper()
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var buf bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &buf); err != nil {
		t.Fatalf("upstream encode of %T: %v", obj, err)
	}
	return buf.Bytes()
}

// upstreamWatchFrame is the frame the watch path wrote before package
// envelope: the serializer's body in a metav1.WatchEvent behind its length.
func upstreamWatchFrame(t *testing.T, typ string, body []byte) []byte {
	t.Helper()
	data, err := (&metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: body}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	return append(frame, data...)
}

func corpusPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", UID: "u-1", ResourceVersion: "42",
			Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"a": strings.Repeat("x", 300)},
			CreationTimestamp: metav1.Unix(1700000000, 0), Finalizers: []string{"f"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "u-2"}}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Command: []string{"sh", "-c", "sleep 1"}, Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
			Resources:      corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}}},
			Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.3"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Unix(1700000100, 0)}}},
	}
}

// corpus is a set of objects with the kinds they are written as.
func corpus() []struct {
	name string
	obj  runtime.Object
	gvk  schema.GroupVersionKind
} {
	big := corpusPod()
	big.Annotations["big"] = strings.Repeat("y", 70000) // lengths of three varint bytes
	return []struct {
		name string
		obj  runtime.Object
		gvk  schema.GroupVersionKind
	}{
		{"pod with many fields", corpusPod(), corev1.SchemeGroupVersion.WithKind("Pod")},
		{"large pod", big, corev1.SchemeGroupVersion.WithKind("Pod")},
		{"empty pod", &corev1.Pod{}, corev1.SchemeGroupVersion.WithKind("Pod")},
		{"pod list", &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []corev1.Pod{*corpusPod(), *corpusPod()}},
			corev1.SchemeGroupVersion.WithKind("PodList")},
		{"status", &metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 1"},
			schema.GroupVersionKind{Version: "v1", Kind: "Status"}},
		{"partial object metadata", &metav1.PartialObjectMetadata{ObjectMeta: corpusPod().ObjectMeta},
			metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata")},
		{"deployment (a group)", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}},
			appsv1.SchemeGroupVersion.WithKind("Deployment")},
		{"no kind", &corev1.ConfigMap{Data: map[string]string{"k": "v"}}, schema.GroupVersionKind{}},
	}
}

// TestMarshalMatchesUpstream checks that envelopes and watch frames are
// byte for byte what apimachinery's serializer and metav1.WatchEvent make,
// and that Parse reads them back as runtime.Unknown does.
func TestMarshalMatchesUpstream(t *testing.T) {
	for _, tc := range corpus() {
		t.Run(tc.name, func(t *testing.T) {
			checkMatchesUpstream(t, tc.obj, tc.gvk)
		})
	}
}

func checkMatchesUpstream(t *testing.T, obj runtime.Object, gvk schema.GroupVersionKind) {
	t.Helper()
	// The serializer writes the kind obj reports (none for types without
	// TypeMeta, such as metav1.WatchEvent).
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	gvk = obj.GetObjectKind().GroupVersionKind()
	want := upstreamEnvelope(t, obj, gvk)
	got, ok, err := Marshal(obj, gvk)
	if !ok || err != nil {
		t.Fatalf("Marshal(%T) = ok %v, err %v", obj, ok, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("envelope of %T differs from upstream:\n got %q\nwant %q", obj, got, want)
	}
	o, _ := Prepare(obj, gvk)
	for _, typ := range []string{"ADDED", "MODIFIED", "DELETED", "ERROR", "BOOKMARK"} {
		frame, err := o.WatchFrame(typ)
		if err != nil {
			t.Fatal(err)
		}
		if want := upstreamWatchFrame(t, typ, want); !bytes.Equal(frame, want) {
			t.Fatalf("%s frame of %T differs from upstream:\n got %q\nwant %q", typ, obj, frame, want)
		}
	}
	p, ok := Parse(got)
	if !ok {
		t.Fatalf("Parse of an envelope of %T failed", obj)
	}
	var unk runtime.Unknown
	if err := unk.Unmarshal(got[len(Magic):]); err != nil {
		t.Fatal(err)
	}
	if string(p.APIVersion) != unk.APIVersion || string(p.Kind) != unk.Kind || !bytes.Equal(p.Raw, unk.Raw) {
		t.Fatalf("Parse = %q %q %d bytes, runtime.Unknown has %q %q %d bytes", p.APIVersion, p.Kind, len(p.Raw), unk.APIVersion, unk.Kind, len(unk.Raw))
	}
}

// TestMarshalMatchesUpstreamFuzzed compares envelopes and frames with
// upstream on randomly filled objects of every built-in kind.
func TestMarshalMatchesUpstreamFuzzed(t *testing.T) {
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(5), serializer.NewCodecFactory(scheme.Scheme)).
		NilChance(0.3).NumElements(0, 3).MaxDepth(8)
	kinds := scheme.Scheme.AllKnownTypes()
	gvks := make([]schema.GroupVersionKind, 0, len(kinds))
	for gvk := range kinds {
		if gvk.Version != runtime.APIVersionInternal {
			gvks = append(gvks, gvk)
		}
	}
	sort.Slice(gvks, func(i, j int) bool { return gvks[i].String() < gvks[j].String() })
	checked := 0
	for _, gvk := range gvks {
		obj, ok := reflect.New(kinds[gvk]).Interface().(runtime.Object)
		if !ok {
			continue
		}
		if _, ok := Prepare(obj, gvk); !ok {
			continue
		}
		for range 3 {
			f.Fuzz(obj)
			checkMatchesUpstream(t, obj, gvk)
			checked++
		}
	}
	if checked < 500 {
		t.Fatalf("only %d fuzzed objects checked", checked)
	}
}

// TestPrepareDeclines checks that Marshal leaves to apimachinery what it
// writes another way: a runtime.Unknown as it is, and types without
// generated protobuf code not at all.
func TestPrepareDeclines(t *testing.T) {
	for _, obj := range []runtime.Object{&runtime.Unknown{Raw: []byte("x")}, &unstructured.Unstructured{}} {
		if _, ok, _ := Marshal(obj, schema.GroupVersionKind{Version: "v1", Kind: "X"}); ok {
			t.Errorf("Marshal took a %T", obj)
		}
	}
}

// TestParseRejectsOddShapes checks that Parse leaves everything but the
// plain envelope shape to apimachinery's decoder.
func TestParseRejectsOddShapes(t *testing.T) {
	good, _, err := Marshal(corpusPod(), corev1.SchemeGroupVersion.WithKind("Pod"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"no magic", good[len(Magic):]},
		{"truncated", good[:len(good)-3]},
		{"field repeated", append(append([]byte{}, good...), 0x12, 0)},
		{"unknown field", append(append([]byte{}, good...), 5<<3|2, 0)},
		{"varint field", append(append([]byte{}, good...), 3<<3|0, 1)},
		{"field zero", append(append([]byte{}, good...), 0<<3|2, 0)},
		{"length past the end", append(append([]byte{}, good...), 0x22, 9)},
		{"type meta with an unknown field", append([]byte(Magic), 0x0a, 2, 3<<3|2, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if p, ok := Parse(tc.data); ok {
				t.Fatalf("Parse accepted it: %q %q", p.APIVersion, p.Kind)
			}
		})
	}
}

// TestUnmarshal checks which envelopes Unmarshal reads itself: those of
// the target's own kind, decoded as apimachinery's decoder does.
func TestUnmarshal(t *testing.T) {
	pod := corpusPod()
	podData := upstreamEnvelope(t, pod, corev1.SchemeGroupVersion.WithKind("Pod"))
	tests := []struct {
		name     string
		data     []byte
		into     runtime.Object
		wantRead bool
	}{
		{"own kind", podData, &corev1.Pod{Spec: corev1.PodSpec{NodeName: "reset first"}}, true},
		{"another kind", podData, &corev1.ConfigMap{}, false},
		{"another version", upstreamEnvelope(t, pod, schema.GroupVersionKind{Version: "v2", Kind: "Pod"}), &corev1.Pod{}, false},
		{"no kind", upstreamEnvelope(t, pod, schema.GroupVersionKind{}), &corev1.Pod{}, false},
		{"a group", upstreamEnvelope(t, &appsv1.Deployment{}, appsv1.SchemeGroupVersion.WithKind("Deployment")), &appsv1.Deployment{}, true},
		{"not an envelope", []byte("{}"), &corev1.Pod{}, false},
		{"no generated code", podData, &unstructured.Unstructured{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			read, err := Unmarshal(tc.data, scheme.Scheme, tc.into)
			if read != tc.wantRead || err != nil {
				t.Fatalf("Unmarshal = %v, %v; want %v, nil", read, err, tc.wantRead)
			}
			if !read {
				return
			}
			want := reflect.New(reflect.TypeOf(tc.into).Elem()).Interface().(runtime.Object)
			if _, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(tc.data, nil, want); err != nil {
				t.Fatal(err)
			}
			want.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
			if !reflect.DeepEqual(tc.into, want) {
				t.Fatalf("got %#v\nwant %#v", tc.into, want)
			}
		})
	}
}
