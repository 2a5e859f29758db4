package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// streamOptions are the query parameters of /exec and /attach.
type streamOptions struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseStreamOptions(q url.Values) (streamOptions, error) {
	o := streamOptions{command: q["command"]}
	for name, dst := range map[string]*bool{"stdin": &o.stdin, "stdout": &o.stdout, "stderr": &o.stderr, "tty": &o.tty} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, badRequest("invalid %s %q", name, v)
			}
			*dst = b
		}
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, badRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if o.tty {
		// A terminal merges stderr into stdout.
		o.stderr = false
	}
	return o, nil
}

// serveExec runs a command in a container (kubectl exec, cp).
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	s.serveStream(w, r, func(ctx context.Context, id string, o streamOptions) (string, error) {
		if len(o.command) == 0 {
			return "", badRequest("you must specify at least 1 command")
		}
		resp, err := s.o.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: o.command,
			Tty: o.tty, Stdin: o.stdin, Stdout: o.stdout, Stderr: o.stderr})
		return resp.GetUrl(), err
	})
}

// serveAttach attaches to a container's main process (kubectl attach).
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	s.serveStream(w, r, func(ctx context.Context, id string, o streamOptions) (string, error) {
		resp, err := s.o.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id,
			Tty: o.tty, Stdin: o.stdin, Stdout: o.stdout, Stderr: o.stderr})
		return resp.GetUrl(), err
	})
}

// serveStream resolves the container, asks the runtime for a streaming
// URL with session and connects the client to it: a WebSocket client is
// served here and relayed, a SPDY client is proxied unchanged.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, session func(ctx context.Context, id string, o streamOptions) (string, error)) {
	ref := containerRef{Namespace: r.PathValue("ns"), Pod: r.PathValue("pod"), Container: r.PathValue("container")}
	o, err := parseStreamOptions(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	if !httpstream.IsUpgradeRequest(r) {
		writeError(w, badRequest("Upgrade request required"))
		return
	}
	id, err := s.runningContainer(r.Context(), ref)
	if err != nil {
		writeError(w, err)
		return
	}
	raw, err := session(r.Context(), id, o)
	if err != nil {
		writeError(w, err)
		return
	}
	target, err := url.Parse(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	if wsstream.IsWebSocketRequest(r) {
		s.relayWebSocket(w, r, target, o)
		return
	}
	s.proxyUpgrade(w, r, target)
}

// proxyUpgrade hands an upgrade request to the runtime's streaming server
// and pipes the connection both ways.
func (s *Server) proxyUpgrade(w http.ResponseWriter, r *http.Request, target *url.URL) {
	h := proxy.NewUpgradeAwareHandler(target, nil, false, true, proxyErrorResponder{})
	h.FlushInterval = 100 * time.Millisecond
	h.ServeHTTP(w, r)
}

// proxyErrorResponder answers errors of the upgrade proxy as plain text.
type proxyErrorResponder struct{}

func (proxyErrorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	code := http.StatusInternalServerError
	if se, ok := err.(apierrors.APIStatus); ok {
		code = int(se.Status().Code)
	}
	http.Error(w, err.Error(), code)
}

// serveRun runs cmd in a container and answers its output (/run).
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request) {
	ref := containerRef{Namespace: r.PathValue("ns"), Pod: r.PathValue("pod"), Container: r.PathValue("container")}
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest("invalid form: %v", err))
		return
	}
	cmd := r.Form["cmd"]
	if len(cmd) == 0 {
		writeError(w, badRequest("missing cmd"))
		return
	}
	id, err := s.runningContainer(r.Context(), ref)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.o.Runtime.ExecSync(r.Context(), id, splitCmd(cmd), time.Minute)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(append(res.Stdout, res.Stderr...))
}

// splitCmd takes a single cmd value as a space-separated command line,
// like the kubelet, and several values as the argument list.
func splitCmd(cmd []string) []string {
	if len(cmd) > 1 {
		return cmd
	}
	return strings.Fields(cmd[0])
}
