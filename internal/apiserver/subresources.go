package apiserver

import (
	"fmt"
	"mime"
	"net/http"
	"reflect"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// builtinSubresources maps "<resource>/<subresource>" to its handler.
func (s *Server) builtinSubresources() map[string]subresourceFunc {
	m := map[string]subresourceFunc{
		"pods/binding":        s.serveBinding,
		"pods/eviction":       s.serveEviction,
		"namespaces/finalize": s.serveFinalize,
		// Served by the node agents (streaming.go, podlog.go, nodeproxy.go).
		"pods/log": s.servePodLog, "pods/exec": s.serveExec, "pods/attach": s.serveAttach,
		"pods/portforward": s.servePortForward, "pods/proxy": s.servePodProxy, "nodes/proxy": s.serveNodeProxy,
		"pods/ephemeralcontainers": s.serveEphemeralContainers,
	}
	for _, r := range []string{"deployments", "replicasets", "statefulsets", "replicationcontrollers"} {
		m[r+"/scale"] = s.serveScale
	}
	m["serviceaccounts/token"] = s.serveTokenRequest
	return m
}

// serveScale serves GET, PUT and PATCH of autoscaling/v1 Scale.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	ctx := r.Context()
	switch ri.Verb {
	case "get":
		obj, err := h.store.Get(ctx, ri.Namespace, ri.Name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeScale(w, r, obj)
	case "update", "patch":
		dry, body, ok := s.writeRequest(w, r)
		if !ok {
			return
		}
		update := func(cur runtime.Object) (runtime.Object, error) {
			if cur == nil {
				return nil, apierrors.NewNotFound(h.res.GroupResource(), ri.Name)
			}
			want, err := s.requestedScale(r, ri.Verb, body, cur)
			if err != nil {
				return nil, err
			}
			if want.ResourceVersion != "" && want.ResourceVersion != rvOf(cur) {
				return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name,
					fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			setReplicas(cur, want.Spec.Replicas)
			cur.(metav1.Object).SetResourceVersion("")
			return cur, nil
		}
		out, _, err := h.store.Update(ctx, ri.Namespace, ri.Name, update, registry.UpdateOptions{DryRun: dry})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeScale(w, r, out)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
	}
}

// requestedScale decodes the Scale a PUT sends, or applies a PATCH to the
// current Scale.
func (s *Server) requestedScale(r *http.Request, verb string, body []byte, cur runtime.Object) (*autoscalingv1.Scale, error) {
	want := &autoscalingv1.Scale{}
	gvk := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	if verb == "update" {
		if err := s.decodeOptions(r, body, gvk, want); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return want, nil
	}
	current := scaleOf(cur)
	current.SetGroupVersionKind(gvk)
	curJSON, err := s.ser.encode(outputFormat{MediaType: mediaJSON}, current)
	if err != nil {
		return nil, err
	}
	pt := types.PatchType(contentTypeOf(r))
	if pt == types.StrategicMergePatchType {
		pt = types.MergePatchType
	}
	patched, err := applyPatch(pt, curJSON, body, &autoscalingv1.Scale{})
	if err != nil {
		return nil, err
	}
	_, err = s.decodeJSON(patched, gvk, want, validateIgnore)
	if !patchSetsResourceVersion(pt, body) {
		want.ResourceVersion = ""
	}
	return want, err
}

func (s *Server) writeScale(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	sc := scaleOf(obj)
	sc.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	s.writeObject(w, r, nil, http.StatusOK, sc)
}

// scaleOf reads spec.replicas, status.replicas and the selector of a
// workload by their common field names.
func scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m := obj.(metav1.Object)
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
	}}
	v := reflect.ValueOf(obj).Elem()
	spec, status := v.FieldByName("Spec"), v.FieldByName("Status")
	if rep := spec.FieldByName("Replicas"); rep.IsValid() {
		if rep.Kind() == reflect.Pointer {
			sc.Spec.Replicas = 1
			if !rep.IsNil() {
				sc.Spec.Replicas = int32(rep.Elem().Int())
			}
		} else {
			sc.Spec.Replicas = int32(rep.Int())
		}
	}
	if rep := status.FieldByName("Replicas"); rep.IsValid() {
		sc.Status.Replicas = int32(rep.Int())
	}
	switch sel := spec.FieldByName("Selector").Interface().(type) {
	case *metav1.LabelSelector:
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			sc.Status.Selector = ls.String()
		}
	case map[string]string:
		sc.Status.Selector = labels.SelectorFromSet(sel).String()
	}
	return sc
}

func setReplicas(obj runtime.Object, n int32) {
	rep := reflect.ValueOf(obj).Elem().FieldByName("Spec").FieldByName("Replicas")
	if rep.Kind() == reflect.Pointer {
		rep.Set(reflect.ValueOf(&n))
		return
	}
	rep.SetInt(int64(n))
}

// serveBinding assigns a pod to a node (POST pods/<name>/binding).
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	dry, body, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	b := &corev1.Binding{}
	if err := s.decodeOptions(r, body, corev1.SchemeGroupVersion.WithKind("Binding"), b); err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if b.Target.Name == "" {
		s.writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), ri.Name,
			fieldRequired("target", "name")))
		return
	}
	bind := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(h.res.GroupResource(), ri.Name)
		}
		pod := cur.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", ri.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name, fmt.Errorf("pod %s is already assigned to node %q", ri.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		return pod, nil
	}
	if _, _, err := h.store.Update(r.Context(), ri.Namespace, ri.Name, bind, registry.UpdateOptions{DryRun: dry, Subresource: "binding"}); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, nil, http.StatusCreated, &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = pod.Status.Conditions[i].LastTransitionTime
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// serveFinalize replaces a namespace's spec.finalizers (PUT namespaces/<n>/finalize).
func (s *Server) serveFinalize(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "update" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	dry, body, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	obj, _, err := s.decodeObject(r, h, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	want := obj.(*corev1.Namespace)
	finalize := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(h.res.GroupResource(), ri.Name)
		}
		ns := cur.(*corev1.Namespace)
		if want.ResourceVersion != "" && want.ResourceVersion != ns.ResourceVersion {
			return nil, apierrors.NewConflict(h.res.GroupResource(), ri.Name,
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		ns.Spec.Finalizers = want.Spec.Finalizers
		ns.ResourceVersion = ""
		return ns, nil
	}
	out, _, err := h.store.Update(r.Context(), "", ri.Name, finalize, registry.UpdateOptions{DryRun: dry, Subresource: "finalize"})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, h, http.StatusOK, out)
}

func fieldRequired(path ...string) field.ErrorList {
	p := field.NewPath(path[0], path[1:]...)
	return field.ErrorList{field.Required(p, "")}
}

func contentTypeOf(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}
