package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

func fieldsAnd(sel fields.Selector, field, value string) fields.Selector {
	term := fields.OneTermEqualSelector(field, value)
	if sel == nil || sel.Empty() {
		return term
	}
	return fields.AndSelectors(sel, term)
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	dry, data, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	obj, warnings, err := s.decodeObject(r, h, data)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if h.res.Review != nil {
		out, err := h.res.Review(r.Context(), obj)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, h, http.StatusCreated, out)
		return
	}
	if obj, err = s.trackUpdate(r, h, "", nil, obj); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := h.store.Create(r.Context(), ri.Namespace, obj, registry.CreateOptions{DryRun: dry, Admit: s.admitCreate(r, h, ri, dry)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, h, http.StatusCreated, out)
}

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo, sub string) {
	dry, data, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	obj, warnings, err := s.decodeObject(r, h, data)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if m, ok := obj.(metav1.Object); ok && m.GetName() != ri.Name {
		if m.GetName() == "" {
			s.writeError(w, r, apierrors.NewBadRequest("name is required in the body of an update"))
		} else {
			s.writeError(w, r, apierrors.NewBadRequest("the name of the object ("+m.GetName()+") does not match the name on the URL ("+ri.Name+")"))
		}
		return
	}
	opts := registry.UpdateOptions{DryRun: dry, Subresource: sub, Admit: s.admitUpdate(r, h, ri, dry)}
	out, created, err := h.store.Update(r.Context(), ri.Namespace, ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		return s.trackUpdate(r, h, sub, cur, obj.DeepCopyObject())
	}, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeObject(w, r, h, code, out)
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, gone, err := h.store.DeleteAdmitted(r.Context(), ri.Namespace, ri.Name, opts, dry, s.admitDelete(r, h, ri, dry))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !gone {
		s.writeObject(w, r, h, http.StatusAccepted, out)
		return
	}
	if h.res.ReturnDeletedObject {
		s.writeObject(w, r, h, http.StatusOK, out)
		return
	}
	s.writeObject(w, r, nil, http.StatusOK, successStatus(h, out))
}

// deleteOptions reads DeleteOptions from the body or the query.
func (s *Server) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if err := s.decodeOptions(r, data, gvk, opts); err != nil {
			return nil, apierrors.NewBadRequest("invalid DeleteOptions: " + err.Error())
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds: %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := isTrue(v)
		opts.OrphanDependents = &b
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", *p))
		}
		if opts.OrphanDependents != nil {
			return nil, apierrors.NewBadRequest("orphanDependents and deletionPropagation cannot be both set")
		}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	return opts, nil
}

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lo, err := listOptions(r, h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := h.store.DeleteCollection(r.Context(), ri.Namespace, lo.ListOptions, opts, dry); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, nil, http.StatusOK, &metav1.Status{Status: metav1.StatusSuccess})
}

// writeRequest reads what every write starts with: the dryRun parameter and
// the body. On failure it answers the client and returns ok=false.
func (s *Server) writeRequest(w http.ResponseWriter, r *http.Request) (dry bool, body []byte, ok bool) {
	dry, err := dryRun(r)
	if err == nil {
		body, err = readBody(r)
	}
	if err != nil {
		s.writeError(w, r, err)
		return false, nil, false
	}
	return dry, body, true
}
