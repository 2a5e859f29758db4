package envelope

import "encoding/binary"

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
