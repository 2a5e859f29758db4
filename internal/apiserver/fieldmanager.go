package apiserver

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v4/fieldpath"

	"github.com/skiffhq/skiff/internal/apiserver/openapi"
)

// fieldManagers tracks field ownership (metadata.managedFields) on every
// write and merges server-side apply patches, with one
// structured-merge-diff field manager per resource and subresource, typed by
// the OpenAPI schemas.
type fieldManagers struct {
	defs *openapi.Definitions

	once sync.Once
	tc   managedfields.TypeConverter
	err  error

	mu sync.Mutex
	// byKey is guarded by mu; keys are "<group>/<version>/<resource>/<sub>".
	byKey map[string]*managedfields.FieldManager
	// creates is guarded by mu; keys are GVR strings, nil values mark
	// resources whose creates take the upstream path.
	creates map[string]*createTracker
}

// defaulter applies a resource's defaults for the field manager.
type defaulter struct{ h *resourceHandler }

func (d defaulter) Default(obj runtime.Object) { d.h.res.ApplyDefaults(obj) }

// get returns the field manager of h (sub is "", "status" or "approval"), or nil for
// resources served through a conversion, whose ownership is not tracked.
func (f *fieldManagers) get(s *Server, h *resourceHandler, sub string) (*managedfields.FieldManager, error) {
	if h.res.Conversion != nil {
		return nil, nil
	}
	f.once.Do(func() { f.tc, f.err = managedfields.NewTypeConverter(f.defs.V3(), false) })
	if f.err != nil {
		return nil, fmt.Errorf("build type converter: %w", f.err)
	}
	key := h.res.GVR.String() + "/" + sub
	f.mu.Lock()
	defer f.mu.Unlock()
	if fm := f.byKey[key]; fm != nil {
		return fm, nil
	}
	kind := h.res.GroupVersionKind()
	fm, err := managedfields.NewDefaultFieldManager(f.tc, s.cfg.Scheme, defaulter{h}, s.cfg.Scheme,
		kind, kind.GroupVersion(), sub, resetFields(h, sub))
	if err != nil {
		return nil, err
	}
	if f.byKey == nil {
		f.byKey = map[string]*managedfields.FieldManager{}
	}
	f.byKey[key] = fm
	return fm, nil
}

// resetFields are the fields a write through this endpoint cannot change,
// so nobody comes to own them through it.
func resetFields(h *resourceHandler, sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	reset := resetPaths(h, sub)
	if reset == nil {
		return nil
	}
	gv := fieldpath.APIVersion(h.res.GVR.GroupVersion().String())
	return map[fieldpath.APIVersion]fieldpath.Filter{gv: fieldpath.NewExcludeSetFilter(reset)}
}

// resetPaths are resetFields' paths (each with everything below it), or nil.
func resetPaths(h *resourceHandler, sub string) *fieldpath.Set {
	if !h.res.HasStatus {
		return nil
	}
	if sub == "status" || sub == "approval" {
		return fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	}
	return fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
}

// trackUpdate records manager's ownership of what changed from live to obj.
// live is nil on create.
func (s *Server) trackUpdate(r *http.Request, h *resourceHandler, sub string, live, obj runtime.Object) (runtime.Object, error) {
	fm, err := s.fieldManagers.get(s, h, sub)
	if err != nil || fm == nil {
		return obj, err
	}
	manager, err := managerName(r, false)
	if err != nil {
		return nil, err
	}
	if live == nil {
		if sub == "" {
			if ct := s.fieldManagers.createTracker(s, h); ct != nil && ct.track(obj, manager) {
				return obj, nil
			}
		}
		live = h.res.New()
	}
	return fm.UpdateNoErrors(live, obj, manager), nil
}

// managerName is the fieldManager parameter, or for non-apply writes the
// client's User-Agent up to the first "/", as upstream does.
func managerName(r *http.Request, apply bool) (string, error) {
	m := r.URL.Query().Get("fieldManager")
	if m == "" {
		if apply {
			return "", apierrors.NewBadRequest("PATCH, application/apply-patch+yaml, requires fieldManager to be set")
		}
		m, _, _ = strings.Cut(r.UserAgent(), "/")
	}
	if len(m) > 128 {
		if !apply && r.URL.Query().Get("fieldManager") == "" {
			return m[:128], nil
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldManager: Too long: may not be more than 128 bytes"))
	}
	for _, c := range m {
		if !unicode.IsPrint(c) {
			return "", apierrors.NewBadRequest("fieldManager: Invalid value: must consist of printable characters")
		}
	}
	return m, nil
}
