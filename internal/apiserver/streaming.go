package apiserver

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Pods' streaming subresources. The API server checks the request, finds
// the pod's node and proxies the connection — a WebSocket or SPDY upgrade
// as the client sent it — to the node agent, which speaks to the runtime:
//
//	kubectl ──WebSocket v5 / SPDY──► API server ──same, TLS + client cert──► agent
//
// Authorization is the user's verb on the subresource (create for POST,
// get for a WebSocket GET), as for any request.

// podOf reads the pod a subresource request names.
func (s *Server) podOf(r *http.Request, h *resourceHandler, ri *requestInfo) (*corev1.Pod, error) {
	obj, err := h.store.Get(r.Context(), ri.Namespace, ri.Name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

// pickContainer picks the container of a logs or stream request: the one
// asked for, which must exist, or the only one. The error for several
// lists the ephemeral containers too when listEphemeral.
func pickContainer(pod *corev1.Pod, container string, listEphemeral bool) (string, error) {
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, containerNames(pod.Spec.Containers))
		if len(pod.Spec.InitContainers) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
		}
		if listEphemeral && len(pod.Spec.EphemeralContainers) > 0 {
			var names []string
			for _, c := range pod.Spec.EphemeralContainers {
				names = append(names, c.Name)
			}
			msg += fmt.Sprintf(" or one of the ephemeral containers: [%s]", strings.Join(names, " "))
		}
		return "", apierrors.NewBadRequest(msg)
	}
	if !podHasContainer(pod, container) {
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
	}
	return container, nil
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

func podHasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// serveExec serves pods/exec; serveAttach pods/attach.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	s.serveContainerStream(w, r, h, ri, "exec")
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	s.serveContainerStream(w, r, h, ri, "attach")
}

// serveContainerStream checks an exec or attach request and proxies it to
// the agent's /exec or /attach.
func (s *Server) serveContainerStream(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo, kind string) {
	if ri.Verb != "create" && ri.Verb != "get" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	q := r.URL.Query()
	query := url.Values{}
	for _, p := range []string{"stdin", "stdout", "stderr", "tty"} {
		if v := q.Get(p); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, p, err)))
				return
			}
			if b {
				query.Set(p, "1")
			}
		}
	}
	if query.Get("stdin") == "" && query.Get("stdout") == "" && query.Get("stderr") == "" {
		s.writeError(w, r, apierrors.NewBadRequest("you must specify at least one of stdin, stdout, stderr"))
		return
	}
	if kind == "exec" {
		if len(q["command"]) == 0 {
			s.writeError(w, r, apierrors.NewBadRequest("you must specify at least 1 command"))
			return
		}
		query["command"] = q["command"]
	}
	pod, err := s.podOf(r, h, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	container, err := pickContainer(pod, q.Get("container"), true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.upgradeToAgent(w, r, pod, "/"+kind+"/"+pod.Namespace+"/"+pod.Name+"/"+container, query)
}

// upgradeToAgent proxies a streaming upgrade to path on the agent of the
// pod's node.
func (s *Server) upgradeToAgent(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, path string, query url.Values) {
	if pod.Spec.NodeName == "" {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	target, err := s.agentURL(r.Context(), pod.Spec.NodeName, path, query)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.proxyTo(w, r, target, s.agentTransport(), true)
}

// servePortForward serves pods/portforward.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "create" && ri.Verb != "get" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	query := url.Values{}
	for _, p := range r.URL.Query()["ports"] {
		for _, port := range strings.Split(p, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(port), 10, 16)
			if err != nil || n == 0 {
				s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid port %q: must be between 1 and 65535, inclusive", port)))
				return
			}
			query.Add("port", strconv.FormatUint(n, 10))
		}
	}
	pod, err := s.podOf(r, h, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.upgradeToAgent(w, r, pod, "/portForward/"+pod.Namespace+"/"+pod.Name, query)
}

// servePodProxy serves pods/proxy: /pods/[scheme:]name[:port]/proxy/path
// goes straight to the pod's IP, like upstream.
func (s *Server) servePodProxy(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	scheme, name, port := "http", ri.Name, ""
	parts := strings.Split(ri.Name, ":")
	switch len(parts) {
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	}
	if scheme != "http" && scheme != "https" {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid scheme %q", scheme)))
		return
	}
	named := *ri
	named.Name = name
	pod, err := s.podOf(r, h, &named)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pod.Status.PodIP == "" {
		s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address", pod.Name)))
		return
	}
	if port == "" {
		port = "80"
		if len(pod.Spec.Containers) > 0 && len(pod.Spec.Containers[0].Ports) > 0 {
			port = strconv.Itoa(int(pod.Spec.Containers[0].Ports[0].ContainerPort))
		}
	}
	path := "/" + strings.Join(ri.Rest, "/")
	if strings.HasSuffix(r.URL.Path, "/") && path != "/" {
		path += "/"
	}
	target := &url.URL{Scheme: scheme, Host: net.JoinHostPort(pod.Status.PodIP, port), Path: path, RawQuery: r.URL.RawQuery}
	// The pod's own certificate is not verified, as upstream.
	transport := &http.Transport{DisableKeepAlives: true}
	if scheme == "https" {
		transport.TLSClientConfig = insecureTLS()
	}
	s.proxyTo(w, r, target, transport, false)
}
