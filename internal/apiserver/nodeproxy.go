package apiserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/proxy"
)

// defaultAgentPort is the agent API's port when a node does not publish
// one (the kubelet's 10250).
const defaultAgentPort = 10250

var nodesGVR = corev1.SchemeGroupVersion.WithResource("nodes")

// agentURL returns https://<node address>:<agent port><path>: the node's
// InternalIP (else ExternalIP, else Hostname) and the port its agent
// publishes in status.daemonEndpoints.
func (s *Server) agentURL(ctx context.Context, nodeName, path string, query url.Values) (*url.URL, error) {
	if s.cfg.NodeClientTLS == nil {
		return nil, apierrors.NewServiceUnavailable("the API server has no client configuration for node agents")
	}
	h := s.handlers[nodesGVR]
	if h == nil {
		return nil, apierrors.NewServiceUnavailable("nodes are not served")
	}
	obj, err := h.store.Get(ctx, "", nodeName)
	if err != nil {
		return nil, err
	}
	node := obj.(*corev1.Node)
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q has no address", nodeName))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = defaultAgentPort
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: path, RawQuery: query.Encode()}, nil
}

// agentTransport is a transport to agents with the API server's client
// certificate. Each request gets its own (no idle connections are kept):
// streaming sessions are long and few.
func (s *Server) agentTransport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:     s.cfg.NodeClientTLS.Clone(),
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
}

// proxyTo proxies r (an upgrade or a plain request) to target with
// transport; the user's credentials are not passed on.
func (s *Server) proxyTo(w http.ResponseWriter, r *http.Request, target *url.URL, transport *http.Transport, upgradeRequired bool) {
	r = r.Clone(r.Context())
	for k := range r.Header {
		if k == "Authorization" || k == "Cookie" || strings.HasPrefix(k, "Impersonate-") {
			r.Header.Del(k)
		}
	}
	h := proxy.NewUpgradeAwareHandler(target, transport, false, upgradeRequired, proxyResponder{s: s})
	h.FlushInterval = 100 * time.Millisecond
	h.UseLocationHost = true
	h.ServeHTTP(hijackable{w}, r)
}

// proxyResponder writes proxy errors as Kubernetes Status.
type proxyResponder struct{ s *Server }

func (p proxyResponder) Error(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := err.(apierrors.APIStatus); !ok {
		err = apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the node agent: %v", err))
	}
	p.s.writeError(w, r, err)
}

// hijackable lets the upgrade proxy take over the connection through the
// server's response writer wrappers.
type hijackable struct{ http.ResponseWriter }

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

func (h hijackable) Flush() { _ = http.NewResponseController(h.ResponseWriter).Flush() }

// serveNodeProxy proxies /api/v1/nodes/<name>/proxy/<path> to the node's
// agent (stats, metrics, pods, logs of the agent API).
func (s *Server) serveNodeProxy(w http.ResponseWriter, r *http.Request, _ *resourceHandler, ri *requestInfo) {
	path := "/" + strings.Join(ri.Rest, "/")
	if strings.HasSuffix(r.URL.Path, "/") && path != "/" {
		path += "/"
	}
	target, err := s.agentURL(r.Context(), ri.Name, path, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.proxyTo(w, r, target, s.agentTransport(), false)
}

// insecureTLS is a client config that does not verify the server: pods'
// own certificates, like upstream's pod proxy.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // upstream's pod proxy does not verify pods either
}
