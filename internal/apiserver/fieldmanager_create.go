package apiserver

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v4/fieldpath"
	smdschema "sigs.k8s.io/structured-merge-diff/v4/schema"
	"sigs.k8s.io/structured-merge-diff/v4/typed"
	"sigs.k8s.io/structured-merge-diff/v4/value"
)

// createTracker records field ownership on a plain create without the
// upstream field manager's chain, producing the same managedFields.
//
// On an Update whose live object is empty and whose request carries no
// managedFields, upstream's chain reduces to one entry for the manager:
// versionCheck, lastAppliedUpdater and lastAppliedManager only act on
// Apply; skipNonApplied goes on (its create probability is 1); capManagers
// has one manager to cap; buildManagerInfo names it (Operation Update, the
// resource's version, no subresource); managedFieldsUpdater stamps the time;
// stripMeta drops the metadata fields below. The field set is what the
// empty object's comparison with the new one marks added or modified,
// minus the resource's reset fields.
//
// Upstream converts the objects to the served version first (a deep copy),
// types and validates them, and compares them. The object here is already
// of the served version's Go type and its schema is generated from that
// same type, so validation could only fail where the comparison fails too
// (associative-list items without their keys; duplicates are allowed on
// Update). addedFields walks the object once, without copying or
// validating it. Anything it does not reproduce exactly, and any error,
// sends the request down the upstream path, which then decides as before.
type createTracker struct {
	// emptyData is the resource's empty object in the served version, as
	// upstream types the live object of a create, as unstructured data.
	// Never modified.
	emptyData map[string]interface{}
	// goType is the empty object's Go type; other objects take the
	// upstream path.
	goType reflect.Type
	// schema and typeRef type the resource's objects.
	schema  *smdschema.Schema
	typeRef smdschema.TypeRef
	// version is the served group version, the entry's apiVersion.
	version string
	// reset are the fields a write through the resource cannot set (nil
	// when there are none).
	reset *fieldpath.Set
	// strip is the metadata no manager owns (upstream's stripMeta set).
	strip *fieldpath.Set
	// frames recycles the walks' path stacks.
	frames sync.Pool
	// buffers recycles toJSON's *bytes.Buffer.
	buffers sync.Pool
	// types remembers the schema types of the object's structs' fields.
	types fieldTypes
}

// newCreateTracker builds h's tracker, or returns an error when h's objects
// cannot be typed (they then take the upstream path).
func newCreateTracker(s *Server, h *resourceHandler, tc managedfields.TypeConverter) (*createTracker, error) {
	gv := h.res.GroupVersionKind().GroupVersion()
	empty, err := s.cfg.Scheme.ConvertToVersion(h.res.New(), gv)
	if err != nil {
		return nil, fmt.Errorf("empty %s: %w", h.res.GVR, err)
	}
	tv, err := tc.ObjectToTyped(empty, typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("type empty %s: %w", h.res.GVR, err)
	}
	ev, err := value.NewValueReflect(empty)
	if err != nil {
		return nil, fmt.Errorf("empty %s: %w", h.res.GVR, err)
	}
	data, ok := ev.Unstructured().(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("empty %s is not an object", h.res.GVR)
	}
	ct := &createTracker{
		emptyData: data,
		goType:    reflect.TypeOf(empty),
		schema:    tv.Schema(),
		typeRef:   tv.TypeRef(),
		version:   gv.String(),
		strip:     strippedMetadata(),
	}
	ct.reset = resetPaths(h, "")
	return ct, nil
}

// strippedMetadata is the set upstream's stripMeta removes from every
// manager's fields.
func strippedMetadata() *fieldpath.Set {
	return fieldpath.NewSet(
		fieldpath.MakePathOrDie("apiVersion"),
		fieldpath.MakePathOrDie("kind"),
		fieldpath.MakePathOrDie("metadata"),
		fieldpath.MakePathOrDie("metadata", "name"),
		fieldpath.MakePathOrDie("metadata", "namespace"),
		fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
		fieldpath.MakePathOrDie("metadata", "selfLink"),
		fieldpath.MakePathOrDie("metadata", "uid"),
		fieldpath.MakePathOrDie("metadata", "clusterName"),
		fieldpath.MakePathOrDie("metadata", "generation"),
		fieldpath.MakePathOrDie("metadata", "managedFields"),
		fieldpath.MakePathOrDie("metadata", "resourceVersion"),
	)
}

// track sets obj's managedFields to manager's ownership of everything obj
// sets, and reports whether it did; when it did not, obj is unchanged and
// the upstream field manager must decide.
func (ct *createTracker) track(obj runtime.Object, manager string) bool {
	if reflect.TypeOf(obj) != ct.goType || !utf8.ValidString(manager) {
		// Upstream's manager identifier is a JSON round trip, which
		// rewrites invalid UTF-8.
		return false
	}
	accessor, err := meta.Accessor(obj)
	if err != nil || len(accessor.GetManagedFields()) != 0 {
		return false
	}
	set, err := ct.fieldSet(obj)
	if err != nil {
		return false
	}
	if set.Empty() {
		accessor.SetManagedFields(nil)
		return true
	}
	raw, err := ct.toJSON(set)
	if err != nil {
		return false
	}
	if manager == "" {
		manager = "unknown"
	}
	accessor.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager:    manager,
		Operation:  metav1.ManagedFieldsOperationUpdate,
		APIVersion: ct.version,
		Time:       &metav1.Time{Time: time.Now().UTC()},
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: raw},
	}})
	return true
}

// fieldSet is what obj sets compared with the empty object, without the
// reset and stripped fields.
func (ct *createTracker) fieldSet(obj runtime.Object) (*fieldpath.Set, error) {
	frames, _ := ct.frames.Get().(*fieldFrames)
	if frames == nil {
		frames = new(fieldFrames)
	}
	set, err := addedFields{schema: ct.schema, frames: frames, reset: ct.reset, strip: ct.strip, types: &ct.types}.of(ct.emptyData, obj, ct.typeRef)
	clear(frames[:])
	ct.frames.Put(frames)
	return set, err
}

// toJSON is set.ToJSON() written into a recycled buffer that is large
// enough at once, then copied out: one allocation instead of a buffer
// growing step by step.
func (ct *createTracker) toJSON(set *fieldpath.Set) ([]byte, error) {
	buf, _ := ct.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = bytes.NewBuffer(make([]byte, 0, 4096))
	}
	buf.Reset()
	err := set.ToJSONStream(buf)
	raw := bytes.Clone(buf.Bytes())
	if buf.Cap() <= 64<<10 { // rare huge objects' buffers are not kept
		ct.buffers.Put(buf)
	}
	return raw, err
}

// createTracker returns h's create tracker, or nil when creates of h take
// the upstream path. Call it only after get succeeded (it reads tc).
func (f *fieldManagers) createTracker(s *Server, h *resourceHandler) *createTracker {
	key := h.res.GVR.String()
	f.mu.Lock()
	ct, known := f.creates[key]
	f.mu.Unlock()
	if known {
		return ct
	}
	if f.tc == nil {
		return nil
	}
	ct, err := newCreateTracker(s, h, f.tc)
	if err != nil {
		ct = nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creates == nil {
		f.creates = map[string]*createTracker{}
	}
	f.creates[key] = ct
	return ct
}
