package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// parsePodLogOptions reads PodLogOptions from the query.
func parsePodLogOptions(q url.Values) (*corev1.PodLogOptions, error) {
	o := &corev1.PodLogOptions{Container: q.Get("container")}
	for name, dst := range map[string]*bool{"follow": &o.Follow, "previous": &o.Previous, "timestamps": &o.Timestamps,
		"insecureSkipTLSVerifyBackend": &o.InsecureSkipTLSVerifyBackend} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, name, err))
			}
			*dst = b
		}
	}
	for name, dst := range map[string]**int64{"sinceSeconds": &o.SinceSeconds, "tailLines": &o.TailLines, "limitBytes": &o.LimitBytes} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, name, err))
			}
			*dst = &n
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for sinceTime: %v", v, err))
		}
		mt := metav1.NewTime(t)
		o.SinceTime = &mt
	}
	return o, nil
}

// validatePodLogOptions checks the options like upstream.
func validatePodLogOptions(o *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if o.TailLines != nil && *o.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *o.TailLines, "must be greater than or equal to 0"))
	}
	if o.LimitBytes != nil && *o.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *o.LimitBytes, "must be greater than 0"))
	}
	switch {
	case o.SinceSeconds != nil && o.SinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case o.SinceSeconds != nil && *o.SinceSeconds < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *o.SinceSeconds, "must be greater than 0"))
	}
	return errs
}

// servePodLog serves pods/log: it checks the options and streams the log
// from the pod's node agent. A pod without a node has no log yet: the
// answer is empty, as upstream.
func (s *Server) servePodLog(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "get" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	opts, err := parsePodLogOptions(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if errs := validatePodLogOptions(opts); len(errs) > 0 {
		s.writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), ri.Name, errs))
		return
	}
	pod, err := s.podOf(r, h, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	container, err := pickContainer(pod, opts.Container, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pod.Spec.NodeName == "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		return
	}
	target, err := s.agentURL(r.Context(), pod.Spec.NodeName, "/containerLogs/"+pod.Namespace+"/"+pod.Name+"/"+container, agentLogQuery(opts))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.streamAgentLog(w, r, target, pod.Name)
}

// agentLogQuery encodes the options for the agent's /containerLogs.
func agentLogQuery(o *corev1.PodLogOptions) url.Values {
	q := url.Values{}
	for name, set := range map[string]bool{"follow": o.Follow, "previous": o.Previous, "timestamps": o.Timestamps} {
		if set {
			q.Set(name, "true")
		}
	}
	for name, v := range map[string]*int64{"sinceSeconds": o.SinceSeconds, "tailLines": o.TailLines, "limitBytes": o.LimitBytes} {
		if v != nil {
			q.Set(name, strconv.FormatInt(*v, 10))
		}
	}
	if o.SinceTime != nil {
		q.Set("sinceTime", o.SinceTime.UTC().Format(time.RFC3339))
	}
	return q
}

// streamAgentLog copies the agent's log response to the client, flushing
// as lines arrive; an agent error becomes a Status with the agent's code
// and text.
func (s *Server) streamAgentLog(w http.ResponseWriter, r *http.Request, target *url.URL, podName string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.agentTransport().RoundTrip(req)
	if err != nil {
		s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the node agent: %v", err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 16*1024))
		msg := strings.TrimSpace(string(body))
		var st error
		switch resp.StatusCode {
		case http.StatusBadRequest:
			st = apierrors.NewBadRequest(msg)
		case http.StatusInternalServerError:
			st = apierrors.NewInternalError(fmt.Errorf("%s", msg))
		default:
			st = apierrors.NewGenericServerResponse(resp.StatusCode, "get", corev1.Resource("pods/log"), podName, msg, 0, false)
		}
		s.writeError(w, r, st)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
