// Package apiserver serves the Kubernetes REST API over HTTPS: discovery,
// the REST verbs, watch, patch and subresources for every resource the
// registry defines, backed by the storage interface.
//
//	request → recover → metrics → authenticate → route
//	   route: /healthz /livez /readyz /version /metrics /openapi/*
//	          /api, /apis (discovery)
//	          /api/v1/..., /apis/<g>/<v>/... → resourceHandler → verb handler
//	             verb handler: decode → admission → registry.Store → encode
package apiserver

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
	"github.com/skiffhq/skiff/internal/apiserver/openapi"
	"github.com/skiffhq/skiff/internal/apiserver/recent"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/storage"
)

// Config is what the API server is built from.
type Config struct {
	// Storage is the backend every resource is stored in.
	Storage storage.Interface
	// Cache wraps a resource's backend for one key prefix (the watch
	// cache); nil serves straight from the backend.
	Cache func(backend storage.Interface, prefix string) storage.Interface
	// Resources are the served resources, in discovery order.
	Resources []*registry.Resource
	Scheme    *runtime.Scheme
	// Authenticator identifies requests; nil rejects everything with 401.
	Authenticator auth.Authenticator
	// Admission plugins run in order on writes.
	Admission []admission.Plugin
	// ServiceAccountTokens signs the tokens of serviceaccounts/token; nil
	// answers that subresource with 503.
	ServiceAccountTokens *auth.ServiceAccountTokens
	// Metrics is where the server registers its Prometheus metrics.
	Metrics *prometheus.Registry
	Version version.Info
	// NodeClientTLS is how the server connects to node agents (logs, exec,
	// attach, port-forward, node proxy): its client certificate. nil
	// answers those requests with 503.
	NodeClientTLS *tls.Config
}

// Server is the API server's HTTP handler.
type Server struct {
	cfg      Config
	ser      *serializers
	codec    registry.Codec
	handlers map[schema.GroupVersionResource]*resourceHandler
	// order lists group versions for discovery, core first.
	order   []schema.GroupVersion
	metrics *metrics
	ready   atomic.Bool
	mux     *http.ServeMux
	// subresources serves "<resource>/<subresource>" beyond status.
	subresources map[string]subresourceFunc

	defs          *openapi.Definitions
	openapiDocs   openAPIDocs
	fieldManagers fieldManagers
}

// resourceHandler serves one resource.
type resourceHandler struct {
	res   *registry.Resource
	store *registry.Store
	// frames shares encoded watch events among this resource's watchers
	// (see watchFrame).
	frames *recent.Memo[frameKey, []byte]
}

// New builds the server. It answers /readyz with 503 until SetReady(true).
func New(cfg Config) (*Server, error) {
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	s := &Server{
		cfg:      cfg,
		ser:      newSerializers(cfg.Scheme),
		codec:    registry.NewProtobufCodec(cfg.Scheme),
		handlers: map[schema.GroupVersionResource]*resourceHandler{},
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	caches := map[string]storage.Interface{}
	seen := map[schema.GroupVersion]bool{}
	for _, r := range cfg.Resources {
		if _, dup := s.handlers[r.GVR]; dup {
			return nil, fmt.Errorf("resource %s defined twice", r.GVR)
		}
		st, ok := caches[r.StoragePrefix]
		if !ok {
			st = cfg.Storage
			if ttlStore, canExpire := st.(interface {
				WithTTL(time.Duration) storage.Interface
			}); canExpire && r.TTL > 0 {
				st = ttlStore.WithTTL(r.TTL)
			}
			if cfg.Cache != nil {
				st = cfg.Cache(st, r.StoragePrefix)
			}
			caches[r.StoragePrefix] = st
		}
		s.handlers[r.GVR] = &resourceHandler{res: r, store: registry.NewStore(r, st, s.codec),
			frames: recent.New[frameKey, []byte](sharedFrames)}
		if gv := r.GVR.GroupVersion(); !seen[gv] {
			seen[gv] = true
			s.order = append(s.order, gv)
		}
	}
	s.defs = openapi.New(cfg.Scheme)
	s.fieldManagers.defs = s.defs
	s.mux = s.routes()
	s.subresources = s.builtinSubresources()
	return s, nil
}

// Store returns the store serving gvr, or nil.
func (s *Server) Store(gvr schema.GroupVersionResource) *registry.Store {
	if h := s.handlers[gvr]; h != nil {
		return h.store
	}
	return nil
}

// SetReady flips /readyz.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/livez", s.serveHealth)
	mux.HandleFunc("/readyz", s.serveReady)
	mux.HandleFunc("/version", s.serveVersion)
	mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/api", s.serveCoreVersions)
	mux.HandleFunc("/apis", s.serveGroups)
	mux.HandleFunc("/openapi/v2", s.serveOpenAPIv2)
	mux.HandleFunc("/openapi/v3", s.serveOpenAPIv3)
	mux.HandleFunc("/openapi/v3/", s.serveOpenAPIv3)
	// Profiling, as upstream's --profiling (authenticated like everything else).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", s.serveAPI)
	return mux
}

// ServeHTTP is the filter chain: recover, authenticate, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.writeError(rw, r, fmt.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, p))
		}
		s.metrics.observe(r, rw, time.Since(start))
	}()
	r, ok := s.authenticate(rw, r)
	if !ok {
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// authenticate puts the user in the request context or answers 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if isHealthPath(r.URL.Path) {
		return r, true
	}
	var u *auth.User
	ok := false
	var err error
	if s.cfg.Authenticator != nil {
		u, ok, err = s.cfg.Authenticator.Authenticate(r)
	}
	if err != nil || !ok {
		s.writeStatus(w, r, unauthorized())
		return r, false
	}
	return r.WithContext(auth.WithUser(r.Context(), u)), true
}

func isHealthPath(p string) bool {
	return p == "/healthz" || p == "/livez" || p == "/readyz" || p == "/version"
}

// groupVersions returns the served versions of group, preferred first.
func (s *Server) groupVersions(group string) []schema.GroupVersion {
	var out []schema.GroupVersion
	for _, gv := range s.order {
		if gv.Group == group {
			out = append(out, gv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return version.CompareKubeAwareVersionStrings(out[i].Version, out[j].Version) > 0
	})
	return out
}
