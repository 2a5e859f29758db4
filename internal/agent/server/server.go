// Package server is the node agent's HTTPS API, what the API server proxies
// to: /pods, /healthz, /metrics, /metrics/cadvisor, /stats/summary,
// /containerLogs, /exec, /attach, /portForward and /run.
//
//	API server ──TLS, client cert──► Handler ─ authorize ─► route
//	  /containerLogs  read the CRI log file (follow: poll it)
//	  /exec /attach   WebSocket (v5/v4.channel.k8s.io): terminate here and
//	                  relay as a SPDY client to the runtime's streaming URL;
//	                  SPDY: proxy the upgrade to that URL unchanged
//	  /portForward    WebSocket tunnelling SPDY: unwrap the frames and pipe
//	                  them to the runtime's SPDY port-forward URL;
//	                  SPDY: proxy the upgrade unchanged
//
// The runtime (containerd) serves its streaming URLs on loopback only; the
// agent is the one door to them.
package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// Options configure the agent's API.
type Options struct {
	NodeName string
	Runtime  cri.Runtime
	// Pods returns the pods this agent runs (for /pods and to resolve
	// names in logs/exec requests).
	Pods func() []*corev1.Pod
	// Metrics is the agent's metrics registry, served on /metrics; nil
	// serves an empty registry.
	Metrics *prometheus.Registry
	// Log receives errors of streaming sessions; nil uses slog.Default().
	Log *slog.Logger
}

// Server is the agent's HTTP handler. TLS and client authentication are the
// caller's (the listener's tls.Config, see TLSConfig); Handler expects a
// verified client certificate and authorizes it.
type Server struct{ o Options }

// New returns a Server.
func New(o Options) *Server {
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Pods == nil {
		o.Pods = func() []*corev1.Pod { return nil }
	}
	return &Server{o: o}
}

// Handler serves the agent API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /pods", s.servePods)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.serveContainerLogs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", s.serveExec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", s.serveAttach)
	mux.HandleFunc("/portForward/{ns}/{pod}", s.servePortForward)
	mux.HandleFunc("POST /run/{ns}/{pod}/{container}", s.serveRun)
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
	mux.HandleFunc("GET /metrics/cadvisor", s.serveCadvisor)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.o.Metrics, promhttp.HandlerOpts{}))
	return authorized(mux)
}

// servePods answers the PodList of the pods this agent runs.
func (s *Server) servePods(w http.ResponseWriter, _ *http.Request) {
	list := &corev1.PodList{}
	list.APIVersion, list.Kind = "v1", "PodList"
	for _, p := range s.o.Pods() {
		list.Items = append(list.Items, *p)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// httpError is an error with the status code the agent answers it with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as plain text, like the kubelet: the API server
// turns the status and text into a Kubernetes Status for the user.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if he, ok := err.(*httpError); ok {
		code = he.code
	}
	http.Error(w, err.Error(), code)
}
