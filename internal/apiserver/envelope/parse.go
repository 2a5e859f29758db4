package envelope

import (
	"encoding/binary"

	"k8s.io/apimachinery/pkg/runtime"
)

// Parsed is an envelope read in place: every field is a slice of the
// parsed data.
type Parsed struct {
	APIVersion, Kind []byte
	// Raw is the object's own protobuf bytes.
	Raw []byte
}

// Parse reads an envelope in place. It reports false for anything but a
// well-formed envelope whose fields are the ones apimachinery writes,
// each at most once; callers then hand data to apimachinery's decoder,
// which either reads it the same way or explains what is wrong with it.
// (contentEncoding and contentType are read past, as apimachinery does.)
func Parse(data []byte) (Parsed, bool) {
	var p Parsed
	if len(data) < len(Magic) || string(data[:len(Magic)]) != Magic {
		return p, false
	}
	var typeMeta []byte
	if !eachField(data[len(Magic):], 4, func(field uint64, value []byte) {
		switch field {
		case 1:
			typeMeta = value
		case 2:
			p.Raw = value
		}
	}) {
		return p, false
	}
	ok := eachField(typeMeta, 2, func(field uint64, value []byte) {
		if field == 1 {
			p.APIVersion = value
		} else {
			p.Kind = value
		}
	})
	return p, ok
}

// eachField calls fn with the number and value of every field of msg. It
// reports false, having called fn for some of them, unless every field
// is length-delimited, numbered 1 to maxField and there at most once.
func eachField(msg []byte, maxField uint64, fn func(field uint64, value []byte)) bool {
	var seen uint64
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 || key&7 != 2 {
			return false
		}
		field := key >> 3
		if field == 0 || field > maxField || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		length, m := binary.Uvarint(msg[n:])
		if m <= 0 || length > uint64(len(msg)-n-m) {
			return false
		}
		start := n + m
		end := start + int(length)
		fn(field, msg[start:end:end])
		msg = msg[end:]
	}
	return true
}

// Unmarshal reads an envelope naming a kind that typer has for into's type
// straight into into, as apimachinery's decoder would (into is reset
// first; its kind stays empty). The generated code copies what it keeps,
// so into holds on to no part of data. It reports false, having done
// nothing, for any other data: decode that with apimachinery's decoder.
func Unmarshal(data []byte, typer runtime.ObjectTyper, into runtime.Object) (bool, error) {
	u, ok := into.(unmarshaler)
	if !ok {
		return false, nil
	}
	p, ok := Parse(data)
	if !ok || !isKindOf(p, typer, into) {
		return false, nil
	}
	u.Reset()
	return true, u.Unmarshal(p.Raw)
}

// unmarshaler is what proto.Unmarshal calls on generated types.
type unmarshaler interface {
	Reset()
	Unmarshal(data []byte) error
}

// isKindOf reports whether p names a kind typer has for into's type, which
// apimachinery's decoder would then decode into into itself.
func isKindOf(p Parsed, typer runtime.ObjectTyper, into runtime.Object) bool {
	gvks, _, err := typer.ObjectKinds(into)
	if err != nil {
		return false
	}
	for _, gvk := range gvks {
		if string(p.Kind) == gvk.Kind && isGroupVersion(p.APIVersion, gvk.Group, gvk.Version) {
			return true
		}
	}
	return false
}

// isGroupVersion reports whether apiVersion is group/version (version
// alone for the core group).
func isGroupVersion(apiVersion []byte, group, version string) bool {
	if group == "" {
		return string(apiVersion) == version
	}
	return len(apiVersion) == len(group)+1+len(version) && string(apiVersion[:len(group)]) == group &&
		apiVersion[len(group)] == '/' && string(apiVersion[len(group)+1:]) == version
}
