// Package server is the node agent's HTTPS API, what the API server proxies
// to: /pods, /healthz, /metrics, /metrics/cadvisor, /stats/summary,
// /containerLogs, /exec, /attach, /portForward (and /run).
//
// STUB: the signatures are the contract with internal/agent; the bodies are
// being written.
package server

import (
	"net/http"

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
}

// Server is the agent's HTTP handler. TLS and client authentication are the
// caller's (the listener's tls.Config); Handler expects a verified client
// certificate and authorizes it.
type Server struct{ o Options }

// New returns a Server.
func New(o Options) *Server { return &Server{o: o} }

// Handler serves the agent API.
func (s *Server) Handler() http.Handler { return http.NotFoundHandler() }
