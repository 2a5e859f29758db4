package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// acceptedPatchTypes is what servePatch understands.
const acceptedPatchTypes = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"

func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo, sub string) {
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fv, err := parseFieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	case types.ApplyYAMLPatchType:
		s.serveApply(w, r, h, ri, sub)
		return
	default:
		s.writeError(w, r, newUnsupportedMediaType(fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: %s", mt, acceptedPatchTypes)))
		return
	}
	patch, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setsRV := patchSetsResourceVersion(pt, patch)
	var warnings []string
	apply := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(h.res.GroupResource(), ri.Name)
		}
		curJSON, err := s.encodeJSON(h, cur)
		if err != nil {
			return nil, err
		}
		patched, err := applyPatch(pt, curJSON, patch, h.res.NewServed())
		if err != nil {
			return nil, err
		}
		served := h.res.NewServed()
		ws, err := s.decodeJSON(patched, h.res.GroupVersionKind(), served, fv)
		if err != nil {
			return nil, err
		}
		warnings = ws
		obj, err := h.res.ToStorage(served)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if obj, err = s.trackUpdate(r, h, sub, cur, obj); err != nil {
			return nil, err
		}
		if !setsRV {
			if m, ok := obj.(metav1.Object); ok {
				m.SetResourceVersion("")
			}
		}
		return obj, nil
	}
	opts := registry.UpdateOptions{DryRun: dry, Subresource: sub, Admit: s.admitUpdate(r, h, ri, dry)}
	out, _, err := h.store.Update(r.Context(), ri.Namespace, ri.Name, apply, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, h, http.StatusOK, out)
}

// encodeJSON renders a stored object as versioned JSON for patching.
func (s *Server) encodeJSON(h *resourceHandler, obj runtime.Object) ([]byte, error) {
	served, err := h.res.FromStorage(obj)
	if err != nil {
		return nil, err
	}
	served.GetObjectKind().SetGroupVersionKind(h.res.GroupVersionKind())
	return s.ser.encode(outputFormat{MediaType: mediaJSON}, served)
}

// applyPatch applies a JSON, merge or strategic merge patch to cur.
func applyPatch(pt types.PatchType, cur, patch []byte, dataStruct runtime.Object) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(cur)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(cur, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	default:
		var pm map[string]interface{}
		if err := json.Unmarshal(patch, &pm); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		out, err := strategicpatch.StrategicMergePatch(cur, patch, dataStruct)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	}
}

// patchSetsResourceVersion reports whether a patch pins metadata.resourceVersion,
// which makes it conditional.
func patchSetsResourceVersion(pt types.PatchType, patch []byte) bool {
	if !bytes.Contains(patch, []byte("resourceVersion")) {
		return false
	}
	if pt == types.JSONPatchType {
		return true
	}
	var p struct {
		Metadata struct {
			ResourceVersion *string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return false
	}
	return p.Metadata.ResourceVersion != nil
}
