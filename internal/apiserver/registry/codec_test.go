package registry

import (
	"bytes"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/equality"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// upstreamCodec is the storage codec as it was before package envelope:
// apimachinery's serializer both ways.
type upstreamCodec struct{ s *protobuf.Serializer }

func (c upstreamCodec) Encode(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	defer obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	var buf bytes.Buffer
	err := c.s.Encode(obj, &buf)
	return buf.Bytes(), err
}

func (c upstreamCodec) Decode(data []byte, into runtime.Object) error {
	if _, _, err := c.s.Decode(data, nil, into); err != nil {
		return err
	}
	into.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return nil
}

// storedKinds are the kinds of scheme with generated protobuf code, in a
// fixed order.
func storedKinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for gvk, t := range scheme.Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		if _, ok := reflect.New(t).Interface().(interface{ Unmarshal([]byte) error }); ok {
			out = append(out, gvk)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// TestProtobufCodecMatchesUpstream checks that the codec writes what
// apimachinery's serializer writes and reads what it reads: for fuzzed
// objects of every built-in kind, and for those values damaged (a byte
// changed, cut short), where both must fail or both give equal objects.
func TestProtobufCodecMatchesUpstream(t *testing.T) {
	codec := NewProtobufCodec(scheme.Scheme)
	old := upstreamCodec{s: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)}
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(6), serializer.NewCodecFactory(scheme.Scheme)).
		NilChance(0.3).NumElements(0, 3).MaxDepth(8)
	rnd := rand.New(rand.NewSource(7))
	decodes := 0
	for _, gvk := range storedKinds() {
		newObj := func() runtime.Object { obj, _ := scheme.Scheme.New(gvk); return obj }
		for range 3 {
			obj := newObj()
			f.Fuzz(obj)
			want, err := old.Encode(obj.DeepCopyObject(), gvk)
			if err != nil {
				t.Fatalf("%s: upstream encode: %v", gvk, err)
			}
			got, err := codec.Encode(obj.DeepCopyObject(), gvk)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: encoding differs from upstream (err %v):\n got %q\nwant %q", gvk, err, got, want)
			}
			for _, data := range append(damaged(rnd, want), want) {
				checkDecodeMatches(t, gvk, codec, old, newObj, data)
				decodes++
			}
		}
	}
	if decodes < 1000 {
		t.Fatalf("only %d decodes compared", decodes)
	}
}

// damaged returns copies of data with one byte changed, and cut short.
func damaged(rnd *rand.Rand, data []byte) [][]byte {
	var out [][]byte
	for range 4 {
		d := bytes.Clone(data)
		d[rnd.Intn(len(d))] = byte(rnd.Intn(256))
		out = append(out, d)
	}
	return append(out, data[:rnd.Intn(len(data))])
}

func checkDecodeMatches(t *testing.T, gvk schema.GroupVersionKind, codec Codec, old upstreamCodec, newObj func() runtime.Object, data []byte) {
	t.Helper()
	got, want := newObj(), newObj()
	gotErr, wantErr := codec.Decode(data, got), old.Decode(data, want)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: decode of %q: err %v, upstream %v", gvk, data, gotErr, wantErr)
	}
	if gotErr == nil && !equality.Semantic.DeepEqual(got, want) {
		t.Fatalf("%s: decode of %q differs from upstream:\n got %#v\nwant %#v", gvk, data, got, want)
	}
}

// TestProtobufCodecDecodeKeepsNoInput checks that a decoded object does
// not share memory with the stored value it came from: the storage may
// reuse it.
func TestProtobufCodecDecodeKeepsNoInput(t *testing.T) {
	codec := NewProtobufCodec(scheme.Scheme)
	tests := []struct {
		name string
		obj  runtime.Object
		gvk  schema.GroupVersionKind
	}{
		{"pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{}}`)}}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, corev1.SchemeGroupVersion.WithKind("Pod")},
		{"secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("value")}},
			corev1.SchemeGroupVersion.WithKind("Secret")},
		{"controller revision", &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "r"},
			Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}}, appsv1.SchemeGroupVersion.WithKind("ControllerRevision")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := codec.Encode(tc.obj.DeepCopyObject(), tc.gvk)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := scheme.Scheme.New(tc.gvk)
			if err := codec.Decode(data, got); err != nil {
				t.Fatal(err)
			}
			for i := range data {
				data[i] = 0
			}
			if !equality.Semantic.DeepEqual(got, tc.obj) {
				t.Fatalf("after the stored value was overwritten the object is\n%#v\nwant\n%#v", got, tc.obj)
			}
		})
	}
}
