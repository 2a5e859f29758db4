package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// serveEphemeralContainers serves pods/ephemeralcontainers (kubectl
// debug): GET returns the pod; PUT and PATCH change only
// spec.ephemeralContainers of the stored pod, and only by adding.
func (s *Server) serveEphemeralContainers(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	switch ri.Verb {
	case "get":
		s.serveGet(w, r, h, ri)
		return
	case "update", "patch":
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	dry, body, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	update := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(h.res.GroupResource(), ri.Name)
		}
		old := cur.(*corev1.Pod)
		want, err := s.requestedPod(r, h, ri, body, old)
		if err != nil {
			return nil, err
		}
		if want.ResourceVersion != "" && want.ResourceVersion != old.ResourceVersion {
			return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name,
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		pod := old.DeepCopy()
		pod.Spec.EphemeralContainers = want.Spec.EphemeralContainers
		defaults.Pod(pod)
		if errs := validateEphemeralContainersUpdate(pod, old); len(errs) > 0 {
			return nil, apierrors.NewInvalid(h.res.GroupKind(), ri.Name, errs)
		}
		pod.ResourceVersion = ""
		return pod, nil
	}
	out, _, err := h.store.Update(r.Context(), ri.Namespace, ri.Name, update,
		registry.UpdateOptions{DryRun: dry, Subresource: "ephemeralcontainers", Admit: s.admitUpdate(r, h, ri, dry)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, h, http.StatusOK, out)
}

// requestedPod decodes the pod a PUT sends, or applies a PATCH to the
// current pod.
func (s *Server) requestedPod(r *http.Request, h *resourceHandler, ri *requestInfo, body []byte, cur *corev1.Pod) (*corev1.Pod, error) {
	if ri.Verb == "update" {
		obj, _, err := s.decodeObject(r, h, body)
		if err != nil {
			return nil, err
		}
		pod := obj.(*corev1.Pod)
		if pod.Name != ri.Name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", pod.Name, ri.Name))
		}
		return pod, nil
	}
	pt := types.PatchType(contentTypeOf(r))
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	default:
		return nil, newUnsupportedMediaType(fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: %s, %s, %s",
			pt, types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType))
	}
	curJSON, err := s.encodeJSON(h, cur)
	if err != nil {
		return nil, err
	}
	patched, err := applyPatch(pt, curJSON, body, &corev1.Pod{})
	if err != nil {
		return nil, err
	}
	want := &corev1.Pod{}
	if _, err := s.decodeJSON(patched, h.res.GroupVersionKind(), want, validateIgnore); err != nil {
		return nil, err
	}
	if !patchSetsResourceVersion(pt, body) {
		want.ResourceVersion = ""
	}
	return want, nil
}

// validateEphemeralContainersUpdate lets an update only add ephemeral
// containers, which must be valid like the rest of the pod.
func validateEphemeralContainersUpdate(pod, old *corev1.Pod) field.ErrorList {
	path := field.NewPath("spec", "ephemeralContainers")
	var errs field.ErrorList
	byName := map[string]*corev1.EphemeralContainer{}
	for i := range pod.Spec.EphemeralContainers {
		byName[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	for _, prev := range old.Spec.EphemeralContainers {
		now, ok := byName[prev.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", prev.Name)))
		case !apiequality.Semantic.DeepEqual(prev, *now):
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be changed\n", prev.Name)))
		}
	}
	// The pod update rules with the new list on both sides: everything but
	// the ephemeral containers is the stored pod's, and the spec checks
	// cover the new entries.
	base := old.DeepCopy()
	base.Spec.EphemeralContainers = pod.Spec.EphemeralContainers
	return append(errs, validation.ValidatePodUpdate(pod, base)...)
}
