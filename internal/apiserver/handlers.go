package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

// subresourceFunc serves one subresource verb.
type subresourceFunc func(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo)

// serveAPI routes resource requests and the per-group discovery documents.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	ri, ok := parseRequestInfo(r)
	if !ok {
		if !s.serveDiscoveryPath(w, r) {
			s.writeStatus(w, r, notFoundPath())
		}
		return
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.info = ri
	}
	h := s.handlers[ri.gvr()]
	if h == nil || (ri.Namespace != "" && !h.res.Namespaced) ||
		(h.res.Namespaced && ri.Namespace == "" && (ri.Name != "" || ri.Verb == "create")) {
		s.writeStatus(w, r, notFoundPath())
		return
	}
	if ri.Subresource != "" {
		s.serveSubresource(w, r, h, ri)
		return
	}
	if !h.res.AllowsVerb(ri.Verb) {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	switch ri.Verb {
	case "get":
		s.serveGet(w, r, h, ri)
	case "list":
		s.serveList(w, r, h, ri)
	case "watch":
		s.serveWatch(w, r, h, ri)
	case "create":
		if ri.Name != "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), "create"))
			return
		}
		s.serveCreate(w, r, h, ri)
	case "update":
		s.serveUpdate(w, r, h, ri, "")
	case "patch":
		s.servePatch(w, r, h, ri, "")
	case "delete":
		s.serveDelete(w, r, h, ri)
	case "deletecollection":
		s.serveDeleteCollection(w, r, h, ri)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
	}
}

func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if !h.res.HasSubresource(ri.Subresource) {
		s.writeStatus(w, r, notFoundPath())
		return
	}
	switch ri.Subresource {
	case "status", "approval":
		switch ri.Verb {
		case "get":
			s.serveGet(w, r, h, ri)
		case "update":
			s.serveUpdate(w, r, h, ri, ri.Subresource)
		case "patch":
			s.servePatch(w, r, h, ri, ri.Subresource)
		default:
			s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		}
		return
	}
	if fn := s.subresources[h.res.GVR.Resource+"/"+ri.Subresource]; fn != nil {
		fn(w, r, h, ri)
		return
	}
	s.writeStatus(w, r, notFoundPath())
}

// dryRun parses the dryRun query parameter.
func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %q, only %q is supported", v, metav1.DryRunAll))
		}
	}
	return len(vals) > 0, nil
}

// listOptions parses the selectors and paging parameters of list and watch.
func listOptions(r *http.Request, h *resourceHandler) (registry.WatchOptions, error) {
	q := r.URL.Query()
	var o registry.WatchOptions
	var err error
	if o.Labels, err = labels.Parse(q.Get("labelSelector")); err != nil {
		return o, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	if o.Fields, err = fields.ParseSelector(q.Get("fieldSelector")); err != nil {
		return o, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	supported := h.res.SupportedFields()
	for _, req := range o.Fields.Requirements() {
		if !supported[req.Field] {
			return o, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	if v := q.Get("limit"); v != "" {
		if o.Limit, err = strconv.ParseInt(v, 10, 64); err != nil || o.Limit < 0 {
			return o, apierrors.NewBadRequest(fmt.Sprintf("invalid limit: %q", v))
		}
	}
	o.Continue = q.Get("continue")
	o.ResourceVersion = q.Get("resourceVersion")
	o.ResourceVersionMatch = metav1.ResourceVersionMatch(q.Get("resourceVersionMatch"))
	o.AllowBookmarks = isTrue(q.Get("allowWatchBookmarks"))
	if v := q.Get("sendInitialEvents"); v != "" {
		b := isTrue(v)
		o.SendInitialEvents = &b
	}
	return o, nil
}

// admitFunc returns the Store admission hook for a write.
func (s *Server) admitCreate(r *http.Request, h *resourceHandler, ri *requestInfo, dry bool) func(ctx context.Context, obj runtime.Object) error {
	if len(s.cfg.Admission) == 0 {
		return nil
	}
	return func(ctx context.Context, obj runtime.Object) error {
		return admission.Chain(s.cfg.Admission).Admit(ctx, s.attributes(r, h, ri, admission.Create, obj, nil, dry))
	}
}

func (s *Server) admitUpdate(r *http.Request, h *resourceHandler, ri *requestInfo, dry bool) func(ctx context.Context, obj, old runtime.Object) error {
	if len(s.cfg.Admission) == 0 {
		return nil
	}
	return func(ctx context.Context, obj, old runtime.Object) error {
		op := admission.Update
		if old == nil {
			op = admission.Create
		}
		return admission.Chain(s.cfg.Admission).Admit(ctx, s.attributes(r, h, ri, op, obj, old, dry))
	}
}

func (s *Server) admitDelete(r *http.Request, h *resourceHandler, ri *requestInfo, dry bool) func(ctx context.Context, old runtime.Object) error {
	if len(s.cfg.Admission) == 0 {
		return nil
	}
	return func(ctx context.Context, old runtime.Object) error {
		return admission.Chain(s.cfg.Admission).Admit(ctx, s.attributes(r, h, ri, admission.Delete, nil, old, dry))
	}
}

func (s *Server) attributes(r *http.Request, h *resourceHandler, ri *requestInfo, op admission.Operation, obj, old runtime.Object, dry bool) *admission.Attributes {
	name := ri.Name
	if name == "" && obj != nil {
		if m, ok := obj.(metav1.Object); ok {
			name = m.GetName()
		}
	}
	return &admission.Attributes{Operation: op, Resource: h.res, Subresource: ri.Subresource,
		Namespace: ri.Namespace, Name: name, Object: obj, OldObject: old,
		User: auth.UserFrom(r.Context()), DryRun: dry}
}
