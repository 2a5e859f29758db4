package registry

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/skiffhq/skiff/internal/storage"
)

// countingCodec counts decodes.
type countingCodec struct {
	Codec
	decodes int
}

func (c *countingCodec) Decode(data []byte, into runtime.Object) error {
	c.decodes++
	return c.Codec.Decode(data, into)
}

// TestDecodeEventShared checks that the watchers of a store decode each
// event once and share the object, which carries the kind it is served
// with.
func TestDecodeEventShared(t *testing.T) {
	codec := &countingCodec{Codec: NewProtobufCodec(scheme.Scheme)}
	r := &Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Kind: "ConfigMap",
		Namespaced: true, New: func() runtime.Object { return &corev1.ConfigMap{} }}
	s := NewStore(r, nil, codec)
	value, err := codec.Encode(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: map[string]string{"a": "b"}},
		Data: map[string]string{"k": "v"}}, corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err != nil {
		t.Fatal(err)
	}
	var got []*corev1.ConfigMap
	for range 3 {
		obj, err := s.decodeEvent("/registry/configmaps/ns/cm", value, 7)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, obj.(*corev1.ConfigMap))
	}
	if codec.decodes != 1 {
		t.Errorf("decoded %d times, want once", codec.decodes)
	}
	for i, cm := range got {
		if cm.Name != "cm" || cm.Data["k"] != "v" || cm.Labels["a"] != "b" || cm.ResourceVersion != "7" ||
			cm.Kind != "ConfigMap" || cm.APIVersion != "v1" {
			t.Fatalf("watcher %d got %#v", i, cm)
		}
		if cm != got[0] {
			t.Errorf("watcher %d got an object of its own, want the shared one", i)
		}
	}
	if _, err := s.decodeEvent("/registry/configmaps/ns/cm", value, 8); err != nil || codec.decodes != 2 {
		t.Errorf("another revision: decodes %d, err %v; want a second decode", codec.decodes, err)
	}
	// An update reading the stored value at revision 7 copies the decoded
	// object instead of decoding; one at another revision decodes.
	stored, err := s.decodeStored(storage.KeyValue{Key: "/registry/configmaps/ns/cm", Value: value, Revision: 7})
	if err != nil || codec.decodes != 2 || stored.(*corev1.ConfigMap).Data["k"] != "v" || stored.(*corev1.ConfigMap).ResourceVersion != "7" ||
		stored.(*corev1.ConfigMap).Kind != "" {
		t.Fatalf("stored value at a decoded revision: %#v, %v after %d decodes; want a copy without kind, no decode", stored, err, codec.decodes)
	}
	stored.(*corev1.ConfigMap).Data["k"] = "changed"
	if again, _ := s.decodeEvent("/registry/configmaps/ns/cm", value, 7); again.(*corev1.ConfigMap).Data["k"] != "v" {
		t.Fatal("changing the copy an update got changed the shared object")
	}
	if _, err := s.decodeStored(storage.KeyValue{Key: "/registry/configmaps/ns/cm", Value: value, Revision: 9}); err != nil || codec.decodes != 3 {
		t.Fatalf("stored value at another revision: err %v after %d decodes; want a decode", err, codec.decodes)
	}
	// Large objects are decoded per watcher, not kept.
	big, err := codec.Encode(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "big"},
		Data: map[string]string{"k": string(make([]byte, maxSharedValue))}}, corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err != nil {
		t.Fatal(err)
	}
	before := codec.decodes
	for range 2 {
		if _, err := s.decodeEvent("/registry/configmaps/ns/big", big, 10); err != nil {
			t.Fatal(err)
		}
	}
	if codec.decodes != before+2 {
		t.Errorf("a large object was decoded %d times by two watchers, want twice", codec.decodes-before)
	}
	codec.decodes = before
	// The previous value at a revision is another value than the one at it.
	prev, err := codec.Encode(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "old"}},
		corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		obj, err := s.decodePrev(storage.Event{Type: storage.Modified, Key: "/registry/configmaps/ns/cm", Value: value, PrevValue: prev, Revision: 8})
		if err != nil || obj.(*corev1.ConfigMap).Data["k"] != "old" || codec.decodes != 4 {
			t.Fatalf("previous value: %v, %v after %d decodes; want data k=old, decoded once", obj, err, codec.decodes)
		}
	}
	// A previous value whose revision the storage names is the value of
	// the earlier event, decoded already.
	obj, err := s.decodePrev(storage.Event{Type: storage.Modified, Key: "/registry/configmaps/ns/cm", Value: prev, PrevValue: value,
		Revision: 11, PrevRevision: 7})
	if err != nil || obj != got[0] || codec.decodes != 4 {
		t.Fatalf("previous value at revision 7: %v, %v after %d decodes; want the event decoded at 7, no decode", obj, err, codec.decodes)
	}
}

// BenchmarkDecodeForUpdate is an update's read of a pod a watcher
// decoded: its own copy for the update function and the old object, a
// second copy or (read-only updates: bindings) the shared one.
func BenchmarkDecodeForUpdate(b *testing.B) {
	codec := NewProtobufCodec(scheme.Scheme)
	r := &Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Kind: "Pod",
		Namespaced: true, New: func() runtime.Object { return &corev1.Pod{} }}
	s := NewStore(r, nil, codec)
	pod := benchPod()
	value, err := codec.Encode(pod, corev1.SchemeGroupVersion.WithKind("Pod"))
	if err != nil {
		b.Fatal(err)
	}
	kv := storage.KeyValue{Key: "/registry/core/pods/ns/p", Value: value, Revision: 9}
	if _, err := s.decodeEvent(kv.Key, kv.Value, kv.Revision); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored pod: %d bytes", len(value))
	for _, readOnly := range []bool{false, true} {
		b.Run(fmt.Sprintf("readOnly=%v", readOnly), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.decodeForUpdate(kv, readOnly); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPod is a pod of about the size the scheduler benchmark creates,
// with managed fields and a status.
func benchPod() *corev1.Pod {
	fieldsV1 := &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:resources":{".":{},"f:requests":{".":{},"f:cpu":{},"f:memory":{}}}}}}}`)}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "0b3c5e2a-1d7f-4e6b-9a8c-2f4d6e8a0b1c",
			Labels: map[string]string{"app": "bench", "pod-template-hash": "5d8f7c9b6"},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "bench", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: fieldsV1},
				{Manager: "scheduler", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: fieldsV1, Subresource: "status"},
			}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent}},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}},
	}
}
