// Package envelope writes and reads the Kubernetes protobuf envelope
// without the intermediate copies of apimachinery's serializer.
//
// An envelope is the 4-byte magic "k8s\x00" followed by a runtime.Unknown
// message that names the object's apiVersion and kind and carries the
// object's own protobuf bytes:
//
//	"k8s\x00"
//	Unknown{ 1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object, 3: contentEncoding "", 4: contentType "" }
//
// apimachinery's serializer marshals the object into a buffer of its own
// and then copies it into the caller's writer; a watch event copies it
// twice more (into a metav1.WatchEvent, then behind the frame's length).
// Here an object is sized once and marshalled straight into the final
// buffer, with the framing around it written by hand; the bytes are the
// same as apimachinery's (the tests compare them). Parse reads a stored
// envelope in place instead of copying the object's bytes out first.
package envelope

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Magic starts every Kubernetes protobuf message.
const Magic = "k8s\x00"

// Protobuf field keys (field number << 3 | wire type 2, length-delimited)
// of the messages written here.
const (
	keyField1 = 1<<3 | 2
	keyField2 = 2<<3 | 2
	keyField3 = 3<<3 | 2
	keyField4 = 4<<3 | 2
)

// Marshaler is what the generated protobuf types of k8s.io/api and
// apimachinery implement: they can be sized and then written backwards
// into a buffer of exactly that size. (MarshalTo is what apimachinery's
// serializer looks for to take the same path.)
type Marshaler interface {
	Size() int
	MarshalTo(data []byte) (int, error)
	MarshalToSizedBuffer(data []byte) (int, error)
}

// Object is an object sized for writing in an envelope.
type Object struct {
	group, version, kind string
	m                    Marshaler
	// size is m's size, typeMeta the size of the envelope's TypeMeta.
	size, typeMeta int
}

// Prepare sizes obj for writing as gvk. It reports false for objects
// apimachinery's serializer writes another way (a runtime.Unknown is
// written as it is, a runtime.CacheableObject through its cache) and for
// types without generated protobuf code; use the serializer for those.
func Prepare(obj runtime.Object, gvk schema.GroupVersionKind) (Object, bool) {
	switch obj.(type) {
	case *runtime.Unknown, runtime.CacheableObject:
		return Object{}, false
	}
	m, ok := obj.(Marshaler)
	if !ok {
		return Object{}, false
	}
	o := Object{group: gvk.Group, version: gvk.Version, kind: gvk.Kind, m: m, size: m.Size()}
	o.typeMeta = fieldLen(o.apiVersionLen()) + fieldLen(len(o.kind))
	return o, true
}

// Marshal returns obj in an envelope naming gvk, or false when Prepare
// does.
func Marshal(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, bool, error) {
	o, ok := Prepare(obj, gvk)
	if !ok {
		return nil, false, nil
	}
	data := make([]byte, o.Len())
	if err := o.put(data); err != nil {
		return nil, true, err
	}
	return data, true, nil
}

// Len is the length of o's envelope.
func (o *Object) Len() int {
	return len(Magic) + o.unknownLen()
}

// unknownLen is the length of the runtime.Unknown message.
func (o *Object) unknownLen() int {
	// contentEncoding and contentType are written even when empty, as
	// the generated code for runtime.Unknown does.
	return fieldLen(o.typeMeta) + fieldLen(o.size) + 2 + 2
}

// apiVersionLen is the length of the group/version string.
func (o *Object) apiVersionLen() int {
	if o.group == "" {
		return len(o.version)
	}
	return len(o.group) + 1 + len(o.version)
}

// put writes o's envelope into dst, which is exactly Len() long.
func (o *Object) put(dst []byte) error {
	i := copy(dst, Magic)
	i = putKeyLen(dst, i, keyField1, o.typeMeta)
	i = putKeyLen(dst, i, keyField1, o.apiVersionLen())
	if o.group != "" {
		i += copy(dst[i:], o.group)
		dst[i] = '/'
		i++
	}
	i += copy(dst[i:], o.version)
	i = putKeyLen(dst, i, keyField2, len(o.kind))
	i += copy(dst[i:], o.kind)
	i = putKeyLen(dst, i, keyField2, o.size)
	n, err := o.m.MarshalToSizedBuffer(dst[i : i+o.size])
	if err != nil {
		return fmt.Errorf("marshal %s: %w", o.kind, err)
	}
	if n != o.size {
		return fmt.Errorf("marshal %s: Size() was %d but %d bytes were written", o.kind, o.size, n)
	}
	i += o.size
	i = putKeyLen(dst, i, keyField3, 0)
	i = putKeyLen(dst, i, keyField4, 0)
	if i != len(dst) {
		return fmt.Errorf("marshal %s: wrote %d bytes of an envelope of %d", o.kind, i, len(dst))
	}
	return nil
}

// WatchFrame returns one frame of a protobuf watch stream carrying o: the
// 4-byte big-endian length of a metav1.WatchEvent, then the event
// {1: type, 2: RawExtension{1: o's envelope}}.
func (o *Object) WatchFrame(eventType string) ([]byte, error) {
	body := o.Len()
	raw := fieldLen(body)
	event := fieldLen(len(eventType)) + fieldLen(raw)
	frame := make([]byte, 4+event)
	binary.BigEndian.PutUint32(frame, uint32(event))
	i := putKeyLen(frame, 4, keyField1, len(eventType))
	i += copy(frame[i:], eventType)
	i = putKeyLen(frame, i, keyField2, raw)
	i = putKeyLen(frame, i, keyField1, body)
	if err := o.put(frame[i:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// fieldLen is the length of a length-delimited field of n bytes with a
// one-byte key.
func fieldLen(n int) int {
	return 1 + uvarintLen(uint64(n)) + n
}

// uvarintLen is the length of x as a protobuf varint.
func uvarintLen(x uint64) int {
	return (bits.Len64(x|1) + 6) / 7
}

// putKeyLen writes a one-byte field key and a length at dst[i:] and
// returns the offset after them.
func putKeyLen(dst []byte, i int, key byte, n int) int {
	dst[i] = key
	return i + 1 + binary.PutUvarint(dst[i+1:], uint64(n))
}
