package apiserver

import (
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// serveApply handles server-side apply (PATCH application/apply-patch+yaml):
// the patch is the manager's full intent; fields it owned and dropped are
// removed, fields others own conflict unless force=true.
func (s *Server) serveApply(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo, sub string) {
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	manager, err := managerName(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	force := isTrue(r.URL.Query().Get("force"))
	fm, err := s.fieldManagers.get(s, h, sub)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if fm == nil {
		s.writeError(w, r, newUnsupportedMediaType(fmt.Sprintf("server-side apply of %s is only supported in the group's preferred version", h.res.GVR.GroupResource())))
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	patch, err := s.applyObject(h, ri, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	apply := func(cur runtime.Object) (runtime.Object, error) {
		live := cur
		if live == nil {
			live = h.res.New()
			m := live.(metav1.Object)
			m.SetName(ri.Name)
			m.SetNamespace(ri.Namespace)
		}
		out, err := fm.Apply(live, patch.DeepCopy(), manager, force)
		if err != nil {
			return nil, err
		}
		if m, ok := out.(metav1.Object); ok {
			m.SetResourceVersion(patch.GetResourceVersion())
		}
		out.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		return out, nil
	}
	opts := registry.UpdateOptions{DryRun: dry, Subresource: sub, CreateIfMissing: sub == "",
		Admit: s.admitUpdate(r, h, ri, dry)}
	out, created, err := h.store.Update(r.Context(), ri.Namespace, ri.Name, apply, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeObject(w, r, h, code, out)
}

// applyObject parses an apply patch and checks it names this object.
func (s *Server) applyObject(h *resourceHandler, ri *requestInfo, body []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	want := h.res.GroupVersionKind()
	if got := obj.GroupVersionKind(); got != want {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s) or the kind (%s) does not match the expected kind (%s)",
			got.GroupVersion(), want.GroupVersion(), got.Kind, want.Kind))
	}
	if obj.GetName() != ri.Name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", obj.GetName(), ri.Name))
	}
	if ns := obj.GetNamespace(); ns != "" && ns != ri.Namespace {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return obj, nil
}
