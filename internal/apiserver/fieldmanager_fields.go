package apiserver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"sigs.k8s.io/structured-merge-diff/v4/fieldpath"
	smdschema "sigs.k8s.io/structured-merge-diff/v4/schema"
	"sigs.k8s.io/structured-merge-diff/v4/value"
)

// errUnusual marks an object the create fast path leaves to the upstream
// field manager: anything structured-merge-diff would reject, or treat in a
// way this walk does not reproduce.
var errUnusual = errors.New("apiserver: object needs the upstream field manager")

// addedFields is what structured-merge-diff's comparison of a resource's
// empty object (lhs) with a new object (rhs) reports added or modified, for
// the common shape of that comparison: it walks the new object's Go value
// directly, seen the way structured-merge-diff's reflection sees it (json
// names, omitempty, inline fields, custom converters and marshalers), and
// the empty object as unstructured data. lhs lists must be empty, as they are
// in a zero object. It returns errUnusual (or a conversion error) wherever
// the comparison would fail or take a path not reproduced here.
type addedFields struct {
	schema *smdschema.Schema
	// reset are paths left out with everything below them; strip are
	// paths left out themselves (their children are kept). Either may be
	// empty.
	reset, strip *fieldpath.Set
	// frames holds the path being walked, one frame per depth; deeper
	// objects take the upstream path.
	frames *fieldFrames
	// types remembers the schema types of structs' fields.
	types *fieldTypes
}

// fieldTypes remembers, per schema map and Go struct type, the resolved
// schema type of each of the struct's json fields, in OrderedFields order:
// what FindField and Resolve would say for the field, worked out once per
// type instead of once per field of every object. Safe for concurrent use.
type fieldTypes struct {
	// byType maps a typesKey to its []smdschema.Atom; the zero Atom
	// marks a field whose type does not resolve.
	byType sync.Map
}

// typesKey identifies a struct type typed by a schema map (schema maps are
// never copied once resolved, so their pointers identify them).
type typesKey struct {
	m *smdschema.Map
	t reflect.Type
}

// of returns the atoms of fields, the ordered fields of Go type t typed by m.
func (ft *fieldTypes) of(schema *smdschema.Schema, m *smdschema.Map, t reflect.Type, fields []*value.FieldCacheEntry) []smdschema.Atom {
	k := typesKey{m: m, t: t}
	if v, ok := ft.byType.Load(k); ok {
		return v.([]smdschema.Atom)
	}
	atoms := make([]smdschema.Atom, len(fields))
	for i, field := range fields {
		tr := m.ElementType
		if sf, ok := m.FindField(field.JsonName); ok {
			tr = sf.Type
		}
		atoms[i], _ = schema.Resolve(tr)
	}
	ft.byType.Store(k, atoms)
	return atoms
}

// fieldFrames is the path stack of one walk.
type fieldFrames [32]fieldFrame

// rkind is how structured-merge-diff classifies a Go value.
type rkind int

const (
	kindNull   rkind = iota
	kindMap          // a Go map with string keys
	kindStruct       // a struct, seen as a map of its json fields
	kindList
	kindScalar // string, bool, number, []byte (a base64 string)
)

// rvalue is a Go value as structured-merge-diff's reflection sees it.
type rvalue struct {
	v reflect.Value
	k rkind
}

// fieldFrame is one step of the path being walked; its set node is made
// only when something below it is recorded.
type fieldFrame struct {
	parent *fieldFrame
	// name is the field name, or nil for a list item (then pe is the
	// element). It is stable: a struct field's name in the reflection
	// cache, or a copy of a map key.
	name *string
	pe   fieldpath.PathElement
	set  *fieldpath.Set
	// depth is the frame's index in the walk's frames.
	depth int
	// muted frames record nothing: they are reset, or below a reset path.
	// stripped frames do not record themselves.
	muted, stripped bool
	// reset and strip are the nodes of addedFields' sets at this path, or
	// nil when nothing below is left out.
	reset, strip *fieldpath.Set
}

func (f *fieldFrame) elem() fieldpath.PathElement {
	if f.name != nil {
		return fieldpath.PathElement{FieldName: f.name}
	}
	return f.pe
}

// node is f's set node, made on first use.
func (f *fieldFrame) node() *fieldpath.Set {
	if f.set == nil {
		f.set = f.parent.node().Children.Descend(f.elem())
	}
	return f.set
}

// record adds f's own path to the set.
func (f *fieldFrame) record() {
	if f.parent != nil && !f.muted && !f.stripped {
		f.parent.node().Members.Insert(f.elem())
	}
}

// child is the frame below f for the field name or list element pe.
func (a addedFields) child(f *fieldFrame, name *string, pe fieldpath.PathElement) (*fieldFrame, error) {
	d := f.depth + 1
	if d >= len(a.frames) {
		return nil, errUnusual
	}
	c := &a.frames[d]
	*c = fieldFrame{parent: f, name: name, pe: pe, depth: d, muted: f.muted}
	if f.reset != nil || f.strip != nil {
		e := c.elem()
		c.muted = c.muted || (f.reset != nil && f.reset.Members.Has(e))
		c.stripped = f.strip != nil && f.strip.Members.Has(e)
		c.reset = childSet(f.reset, e)
		c.strip = childSet(f.strip, e)
	}
	return c, nil
}

// childSet is s's node below e, or nil.
func childSet(s *fieldpath.Set, e fieldpath.PathElement) *fieldpath.Set {
	if s == nil {
		return nil
	}
	c, _ := s.Children.Get(e)
	return c
}

// of returns the set of paths obj (a pointer to a Go struct) adds to or
// modifies in empty (the unstructured empty object), typed by tr.
func (a addedFields) of(empty map[string]interface{}, obj interface{}, tr smdschema.TypeRef) (*fieldpath.Set, error) {
	rv, err := reflectValue(reflect.ValueOf(obj))
	if err != nil {
		return nil, err
	}
	root := &a.frames[0]
	*root = fieldFrame{set: &fieldpath.Set{}, reset: a.reset, strip: a.strip}
	if err := a.compare(root, tr, empty, true, rv); err != nil {
		return nil, err
	}
	return root.set, nil
}

// compare walks rhs at f against lhs (absent unless lhsOK).
func (a addedFields) compare(f *fieldFrame, tr smdschema.TypeRef, lhs interface{}, lhsOK bool, rhs rvalue) error {
	atom, ok := a.schema.Resolve(tr)
	if !ok {
		return errUnusual
	}
	return a.compareAtom(f, atom, lhs, lhsOK, rhs)
}

// compareAtom is compare with the type resolved (the zero Atom fails).
func (a addedFields) compareAtom(f *fieldFrame, atom smdschema.Atom, lhs interface{}, lhsOK bool, rhs rvalue) error {
	ar := deduceAtom(atom, rhs.k)
	if lhsOK {
		// Both come from atom: the same parts mean equal atoms.
		if al := deduceAtom(atom, unstructuredKind(lhs)); al.Scalar != ar.Scalar || al.List != ar.List || al.Map != ar.Map {
			return errUnusual
		}
	}
	var leaf, empty bool
	var err error
	switch {
	case ar.Map != nil:
		leaf, err = a.doMap(f, ar.Map, lhs, lhsOK, rhs)
		empty = leaf && ar.Map.ElementRelationship != smdschema.Atomic
	case ar.Scalar != nil:
		if rhs.k != kindScalar && rhs.k != kindNull {
			return errUnusual
		}
		leaf = true
	case ar.List != nil:
		leaf, err = a.doList(f, ar.List, lhs, lhsOK, rhs)
	default:
		return errUnusual
	}
	if err != nil {
		return err
	}
	if !lhsOK {
		f.record()
	} else if empty {
		// Both are empty (doMap made sure lhs is null or a map): equal
		// when both are null or both are maps.
		if _, lhsMap := lhs.(map[string]interface{}); lhsMap == (rhs.k == kindNull) {
			f.record()
		}
	} else if leaf {
		same, err := sameValue(lhs, rhs)
		if err != nil {
			return err
		}
		if !same {
			f.record()
		}
	}
	return nil
}

// deduceAtom picks the part of atom that fits a value of kind k, as
// structured-merge-diff does; null keeps the whole atom.
func deduceAtom(atom smdschema.Atom, k rkind) smdschema.Atom {
	switch {
	case k == kindScalar && atom.Scalar != nil:
		return smdschema.Atom{Scalar: atom.Scalar}
	case k == kindList && atom.List != nil:
		return smdschema.Atom{List: atom.List}
	case (k == kindMap || k == kindStruct) && atom.Map != nil:
		return smdschema.Atom{Map: atom.Map}
	}
	return atom
}

// doMap walks a map or struct and reports whether it was compared as a
// leaf (atomic, or empty on both sides).
func (a addedFields) doMap(f *fieldFrame, t *smdschema.Map, lhs interface{}, lhsOK bool, rhs rvalue) (bool, error) {
	var lm map[string]interface{}
	if lhsOK && lhs != nil {
		m, ok := lhs.(map[string]interface{})
		if !ok {
			return false, errUnusual
		}
		lm = m
	}
	if rhs.k != kindNull && rhs.k != kindMap && rhs.k != kindStruct {
		return false, errUnusual
	}
	if t.ElementRelationship == smdschema.Atomic {
		return true, nil
	}
	// Empty on both sides is a leaf; an empty rhs has no entry to walk, so
	// the walk finds out.
	it := newEntryIter(rhs)
	var atoms []smdschema.Atom
	if rhs.k == kindStruct {
		atoms = a.types.of(a.schema, t, rhs.v.Type(), it.fields)
	}
	for entries := 0; ; entries++ {
		name, child, ok, err := it.next()
		if err != nil || !ok {
			return err == nil && entries == 0 && len(lm) == 0, err
		}
		l, lok := lm[*name]
		cf, err := a.child(f, name, fieldpath.PathElement{})
		if err != nil {
			return false, err
		}
		if atoms != nil {
			err = a.compareAtom(cf, atoms[it.i-1], l, lok, child)
		} else {
			tr := t.ElementType
			if sf, ok := t.FindField(*name); ok {
				tr = sf.Type
			}
			err = a.compare(cf, tr, l, lok, child)
		}
		if err != nil {
			return false, err
		}
	}
}

// doList walks a list and reports whether it was compared as a leaf.
func (a addedFields) doList(f *fieldFrame, t *smdschema.List, lhs interface{}, lhsOK bool, rhs rvalue) (bool, error) {
	if lhsOK && lhs != nil {
		if l, ok := lhs.([]interface{}); !ok || len(l) > 0 {
			return false, errUnusual
		}
	}
	if rhs.k != kindNull && rhs.k != kindList {
		return false, errUnusual
	}
	if t.ElementRelationship == smdschema.Atomic || rhs.k == kindNull || rhs.v.Len() == 0 {
		return true, nil
	}
	if t.ElementRelationship != smdschema.Associative {
		return false, errUnusual
	}
	n := rhs.v.Len()
	items := make([]rvalue, n)
	pes := make([]fieldpath.PathElement, n)
	seen, dups := fieldpath.MakePathElementSet(n), fieldpath.MakePathElementSet(0)
	for i := 0; i < n; i++ {
		item, err := reflectValue(rhs.v.Index(i))
		if err != nil {
			return false, err
		}
		pe, err := a.itemElement(t, item)
		if err != nil {
			return false, err
		}
		if seen.Has(pe) {
			dups.Insert(pe)
		}
		seen.Insert(pe)
		items[i], pes[i] = item, pe
	}
	elem, _ := a.schema.Resolve(t.ElementType)
	for i := range items {
		child, err := a.child(f, nil, pes[i])
		if err != nil {
			return false, err
		}
		if dups.Has(pes[i]) {
			// Duplicates are owned as a whole, nothing below them.
			child.record()
			continue
		}
		if err := a.compareAtom(child, elem, nil, false, items[i]); err != nil {
			return false, err
		}
	}
	return false, nil
}

// itemElement is the path element of an associative list's item: its keys,
// or for a set its value.
func (a addedFields) itemElement(t *smdschema.List, item rvalue) (fieldpath.PathElement, error) {
	if len(t.Keys) == 0 {
		if item.k != kindScalar {
			return fieldpath.PathElement{}, errUnusual
		}
		v := scalarValue(item.v)
		return fieldpath.PathElement{Value: &v}, nil
	}
	if item.k != kindMap && item.k != kindStruct {
		return fieldpath.PathElement{}, errUnusual
	}
	keys := make(value.FieldList, 0, len(t.Keys))
	for _, name := range t.Keys {
		kv, ok, err := mapEntry(item, name)
		if err != nil {
			return fieldpath.PathElement{}, err
		}
		switch {
		case ok && kv.k == kindScalar:
			keys = append(keys, value.Field{Name: name, Value: scalarValue(kv.v)})
		case ok:
			return fieldpath.PathElement{}, errUnusual
		default:
			def, err := a.keyDefault(t, name)
			if err != nil {
				return fieldpath.PathElement{}, err
			}
			keys = append(keys, value.Field{Name: name, Value: value.NewValueInterface(def)})
		}
	}
	keys.Sort()
	return fieldpath.PathElement{Key: &keys}, nil
}

// keyDefault is the schema default of a list's key field, which stands in
// for the key when an item omits it.
func (a addedFields) keyDefault(t *smdschema.List, name string) (interface{}, error) {
	atom, ok := a.schema.Resolve(t.ElementType)
	if !ok || atom.Map == nil {
		return nil, errUnusual
	}
	field, _ := atom.Map.FindField(name)
	if field.Default == nil {
		return nil, errUnusual
	}
	return field.Default, nil
}

// reflectValue classifies v the way structured-merge-diff's reflection
// does: custom converters first, then one level of pointer or interface.
func reflectValue(v reflect.Value) (rvalue, error) {
	if entry := value.TypeReflectEntryOf(v.Type()); entry.CanConvertToUnstructured() {
		u, err := entry.ToUnstructured(v)
		if err != nil {
			return rvalue{}, fmt.Errorf("convert %s: %w", v.Type(), err)
		}
		if u == nil {
			return rvalue{k: kindNull}, nil
		}
		v = reflect.ValueOf(u)
	}
	if k := v.Kind(); (k == reflect.Ptr || k == reflect.Interface) && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return rvalue{k: kindNull}, nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return rvalue{}, errUnusual
		}
		return rvalue{v: v, k: kindMap}, nil
	case reflect.Struct:
		return rvalue{v: v, k: kindStruct}, nil
	case reflect.Slice:
		if v.IsNil() {
			return rvalue{k: kindNull}, nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return rvalue{v: v, k: kindScalar}, nil
		}
		return rvalue{v: v, k: kindList}, nil
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return rvalue{v: v, k: kindScalar}, nil
	case reflect.Ptr, reflect.Interface:
		if v.IsNil() {
			return rvalue{k: kindNull}, nil
		}
	}
	return rvalue{}, errUnusual
}

// entryIter walks the entries of a map or the json fields of a struct that
// are not omitted.
type entryIter struct {
	m      rvalue
	fields []*value.FieldCacheEntry
	i      int
	iter   reflect.MapIter
	// key and val hold the map entry being visited.
	key, val reflect.Value
}

func newEntryIter(m rvalue) entryIter {
	it := entryIter{m: m}
	switch m.k {
	case kindStruct:
		it.fields = value.TypeReflectEntryOf(m.v.Type()).OrderedFields()
	case kindMap:
		it.iter.Reset(m.v)
		it.key = reflect.New(m.v.Type().Key()).Elem()
		it.val = reflect.New(m.v.Type().Elem()).Elem()
	}
	return it
}

// next returns the next entry's name (a pointer that stays valid) and
// value, or ok false at the end.
func (it *entryIter) next() (name *string, child rvalue, ok bool, err error) {
	switch it.m.k {
	case kindStruct:
		for it.i < len(it.fields) {
			field := it.fields[it.i]
			it.i++
			fv := field.GetFrom(it.m.v)
			if field.CanOmit(fv) {
				continue
			}
			child, err = reflectValue(fv)
			return &field.JsonName, child, err == nil, err
		}
	case kindMap:
		if it.iter.Next() {
			it.key.SetIterKey(&it.iter)
			it.val.SetIterValue(&it.iter)
			key := it.key.String()
			child, err = reflectValue(it.val)
			return &key, child, err == nil, err
		}
	}
	return nil, rvalue{}, false, nil
}

// mapEntry is the entry key of a map or struct, if present.
func mapEntry(m rvalue, key string) (rvalue, bool, error) {
	var v reflect.Value
	switch m.k {
	case kindStruct:
		field, ok := value.TypeReflectEntryOf(m.v.Type()).Fields()[key]
		if !ok {
			return rvalue{}, false, nil
		}
		if v = field.GetFrom(m.v); field.CanOmit(v) {
			return rvalue{}, false, nil
		}
	case kindMap:
		if v = m.v.MapIndex(reflect.ValueOf(key).Convert(m.v.Type().Key())); !v.IsValid() {
			return rvalue{}, false, nil
		}
	}
	rv, err := reflectValue(v)
	return rv, true, err
}

// scalarValue is a scalar as structured-merge-diff's reflection reads it.
func scalarValue(v reflect.Value) value.Value {
	switch v.Kind() {
	case reflect.String:
		return value.NewValueInterface(v.String())
	case reflect.Bool:
		return value.NewValueInterface(v.Bool())
	case reflect.Float32, reflect.Float64:
		return value.NewValueInterface(v.Float())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return value.NewValueInterface(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return value.NewValueInterface(int64(v.Uint()))
	}
	return value.NewValueInterface(base64.StdEncoding.EncodeToString(v.Bytes()))
}

// unstructuredKind classifies an unstructured value.
func unstructuredKind(u interface{}) rkind {
	switch u.(type) {
	case nil:
		return kindNull
	case map[string]interface{}:
		return kindMap
	case []interface{}:
		return kindList
	}
	return kindScalar
}

// sameValue reports whether lhs and rhs are equal values.
func sameValue(lhs interface{}, rhs rvalue) (bool, error) {
	ru, err := toUnstructured(rhs)
	if err != nil {
		return false, err
	}
	return value.Equals(value.NewValueInterface(lhs), value.NewValueInterface(ru)), nil
}

// toUnstructured is rhs as unstructured data.
func toUnstructured(rv rvalue) (interface{}, error) {
	switch rv.k {
	case kindNull:
		return nil, nil
	case kindScalar:
		return scalarValue(rv.v).Unstructured(), nil
	case kindList:
		out := make([]interface{}, rv.v.Len())
		for i := range out {
			item, err := reflectValue(rv.v.Index(i))
			if err != nil {
				return nil, err
			}
			if out[i], err = toUnstructured(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	out := map[string]interface{}{}
	it := newEntryIter(rv)
	for {
		name, child, ok, err := it.next()
		if err != nil || !ok {
			return out, err
		}
		if out[*name], err = toUnstructured(child); err != nil {
			return nil, err
		}
	}
}
