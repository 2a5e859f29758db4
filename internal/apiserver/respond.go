package apiserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// statusRecorder remembers the response code for metrics and passes flushes
// through for watches.
type statusRecorder struct {
	http.ResponseWriter
	code int
	// info is set once the request is routed to a resource.
	info *requestInfo
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (hijacking for
// streaming subresources).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// writeError is the one place internal errors become a Kubernetes Status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	s.writeStatus(w, r, &st)
}

// writeStatus writes a Status object with its code.
func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, st *metav1.Status) {
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	f, err := negotiate(r)
	if err != nil || f.MediaType == mediaYAML {
		f = outputFormat{MediaType: mediaJSON}
	}
	f.As = ""
	data, err := s.ser.encode(f, st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", f.contentType())
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func unauthorized() *metav1.Status {
	return &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnauthorized,
		Reason: metav1.StatusReasonUnauthorized, Message: "Unauthorized"}
}

func notFoundPath() *metav1.Status {
	return &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeUnexpectedServerResponse, Message: "404 page not found"}}}}
}

// writeObject encodes obj for the client in the negotiated format (tables
// and partial metadata included) with the given code.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, h *resourceHandler, code int, obj runtime.Object) {
	f, err := negotiate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.transform(r, h, f, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := s.ser.encode(f, out)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.contentType())
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// transform turns obj into what the format asks: itself, a Table or
// partial metadata; the result has its kind set.
func (s *Server) transform(r *http.Request, h *resourceHandler, f outputFormat, obj runtime.Object) (runtime.Object, error) {
	switch f.As {
	case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
		out, err := s.toMeta(r, h, f, obj)
		if err != nil {
			return nil, err
		}
		gvk := out.GetObjectKind().GroupVersionKind()
		gvk.Version = f.AsVersion
		out.GetObjectKind().SetGroupVersionKind(gvk)
		return out, nil
	}
	if _, isStatus := obj.(*metav1.Status); isStatus {
		obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Status"})
		return obj, nil
	}
	gv := schema.GroupVersion{}
	if h != nil {
		gv = h.res.GVR.GroupVersion()
		var err error
		if obj, err = h.res.FromStorage(obj); err != nil {
			return nil, err
		}
	}
	s.ser.setKind(obj, gv)
	return obj, nil
}

// toMeta renders obj as a meta.k8s.io Table or partial metadata.
func (s *Server) toMeta(r *http.Request, h *resourceHandler, f outputFormat, obj runtime.Object) (runtime.Object, error) {
	if f.As == "Table" {
		return s.toTable(r, h, obj)
	}
	return toPartialMetadata(obj)
}

func (s *Server) toTable(r *http.Request, h *resourceHandler, obj runtime.Object) (runtime.Object, error) {
	include := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject"))
	switch include {
	case "", metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unrecognized includeObject value: %q", include))
	}
	var items []runtime.Object
	var listMeta metav1.ListMeta
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, err
		}
		if lm, err := meta.ListAccessor(obj); err == nil {
			listMeta = metav1.ListMeta{ResourceVersion: lm.GetResourceVersion(), Continue: lm.GetContinue(), RemainingItemCount: lm.GetRemainingItemCount()}
		}
	} else {
		items = []runtime.Object{obj}
		if m, err := meta.Accessor(obj); err == nil {
			listMeta.ResourceVersion = m.GetResourceVersion()
		}
	}
	t, err := h.res.ToTable(items, include, time.Now(), false)
	if err != nil {
		return nil, err
	}
	if include == metav1.IncludeObject {
		for i := range t.Rows {
			served, err := h.res.FromStorage(items[i])
			if err != nil {
				return nil, err
			}
			s.ser.setKind(served, h.res.GVR.GroupVersion())
			t.Rows[i].Object.Object = served
		}
	}
	t.ListMeta = listMeta
	t.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Table"))
	return t, nil
}

func toPartialMetadata(obj runtime.Object) (runtime.Object, error) {
	one := func(o runtime.Object) (*metav1.PartialObjectMetadata, error) {
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		p := &metav1.PartialObjectMetadata{}
		p.ObjectMeta = *objectMetaOf(o, m)
		p.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"))
		return p, nil
	}
	if !meta.IsListType(obj) {
		return one(obj)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	list := &metav1.PartialObjectMetadataList{}
	if lm, err := meta.ListAccessor(obj); err == nil {
		list.ResourceVersion, list.Continue, list.RemainingItemCount = lm.GetResourceVersion(), lm.GetContinue(), lm.GetRemainingItemCount()
	}
	for _, it := range items {
		p, err := one(it)
		if err != nil {
			return nil, err
		}
		p.TypeMeta = metav1.TypeMeta{}
		list.Items = append(list.Items, *p)
	}
	list.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadataList"))
	return list, nil
}

// objectMetaOf returns the embedded ObjectMeta of a built-in object.
func objectMetaOf(o runtime.Object, m metav1.Object) *metav1.ObjectMeta {
	if om, ok := m.(*metav1.ObjectMeta); ok {
		return om
	}
	if g, ok := o.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := g.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om
		}
	}
	return &metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), Labels: m.GetLabels(), Annotations: m.GetAnnotations(),
		OwnerReferences: m.GetOwnerReferences(), Finalizers: m.GetFinalizers(),
		CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(), Generation: m.GetGeneration()}
}

// addWarnings sets Warning headers (RFC 7234 style, code 299).
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(strings.TrimSpace(msg)))
	}
}

// successStatus is the body of an immediate delete.
func successStatus(h *resourceHandler, obj runtime.Object) *metav1.Status {
	st := &metav1.Status{Status: metav1.StatusSuccess}
	if m, err := meta.Accessor(obj); err == nil {
		st.Details = &metav1.StatusDetails{Name: m.GetName(), Group: h.res.GVR.Group, Kind: h.res.GVR.Resource, UID: m.GetUID()}
	}
	return st
}

var errNoFlusher = fmt.Errorf("streaming unsupported by the connection")
