package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/version"
)

// verdict is what one run of a probe handler concluded.
type verdict int

const (
	passed verdict = iota
	// warned passed with a warning (an HTTP redirect to another host that
	// was not followed); it counts as success and records ProbeWarning.
	warned
	failed
)

// maxBody is how much of an HTTP probe's response body is read.
const maxBody = 10 << 10

// maxRedirects is how many same-host redirects an HTTP probe follows.
const maxRedirects = 10

// runProbe runs a probe handler once. An error means the probe could not
// run (a bad port name, the runtime failing); a failing container is a
// failed verdict with the output as the message.
func (m *Manager) runProbe(ctx context.Context, h *corev1.ProbeHandler, c *corev1.Container, podIP, containerID string, timeout time.Duration) (verdict, string, error) {
	switch {
	case h.Exec != nil:
		return execProbe(ctx, m.o.Runtime, containerID, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		req, err := newHTTPRequest(ctx, h.HTTPGet, c, podIP, "probe")
		if err != nil {
			return failed, "", err
		}
		return httpProbe(newProbeClient(m.http, timeout), req)
	case h.TCPSocket != nil:
		return tcpProbe(ctx, h.TCPSocket, c, podIP, timeout)
	case h.GRPC != nil:
		return grpcProbe(ctx, h.GRPC, podIP, timeout)
	}
	return failed, "", errors.New("probe has no handler (exec, httpGet, tcpSocket or grpc)")
}

// execProbe runs cmd in the container: exit 0 passes, any other exit code
// or running out of time fails with the command's output.
func execProbe(ctx context.Context, rt cri.RuntimeService, containerID string, cmd []string, timeout time.Duration) (verdict, string, error) {
	if rt == nil {
		return failed, "", errors.New("exec probe: no container runtime")
	}
	res, err := rt.ExecSync(ctx, containerID, cmd, timeout)
	if err != nil {
		if isTimeout(err) {
			return failed, fmt.Sprintf("command timed out: %q timed out after %v", strings.Join(cmd, " "), timeout), nil
		}
		return failed, "", err
	}
	out := string(res.Stdout) + string(res.Stderr)
	if res.ExitCode != 0 {
		return failed, out, nil
	}
	return passed, out, nil
}

func isTimeout(err error) bool {
	return status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "timeout") && strings.Contains(err.Error(), "exceeded")
}

// newProbeTransport is the transport every HTTP probe of a manager uses:
// no keep-alives (a probe is one request), no proxy, no compression, and
// no TLS verification, as upstream: probes check liveness, not identity.
func newProbeTransport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, like the kubelet
		DisableKeepAlives:  true,
		DisableCompression: true,
		Proxy:              nil,
		DialContext:        (&net.Dialer{}).DialContext,
	}
}

// newProbeClient follows redirects only to the host first asked, at most
// maxRedirects times; a redirect elsewhere answers the 3xx itself.
func newProbeClient(tr *http.Transport, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// newHTTPRequest builds the GET of an httpGet action: scheme (default
// http), host (default the pod IP), a port number or named container port,
// the path and headers. User-Agent is kube-<purpose>/1.32 and Accept */*
// unless the action sets them; a Host header sets the request's host.
func newHTTPRequest(ctx context.Context, a *corev1.HTTPGetAction, c *corev1.Container, podIP, purpose string) (*http.Request, error) {
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(a.Path)
	if err != nil {
		u = &url.URL{Path: a.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	headers := http.Header{}
	for _, h := range a.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		v := version.Get()
		headers.Set("User-Agent", fmt.Sprintf("kube-%s/%s.%s", purpose, v.Major, v.Minor))
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// resolvePort turns a probe's port into a number: an int, a named port of
// the container, or a number written as a string.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	port := -1
	switch p.Type {
	case intstr.Int:
		port = p.IntValue()
	case intstr.String:
		found := false
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				port, found = int(cp.ContainerPort), true
				break
			}
		}
		if !found {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return -1, err
			}
			port = n
		}
	}
	if port <= 0 || port >= 65536 {
		return port, fmt.Errorf("invalid port number: %v", port)
	}
	return port, nil
}

// httpProbe GETs req: 200–399 passes (3xx, an unfollowed redirect, with a
// warning), anything else fails with the status code.
func httpProbe(client *http.Client, req *http.Request) (verdict, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return failed, err.Error(), nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return failed, "", fmt.Errorf("read response body: %w", err)
	}
	body := string(b)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return warned, "Probe terminated redirects, Response body: " + body, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return passed, body, nil
	}
	return failed, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

// tcpProbe passes when a TCP connection opens within the timeout.
func tcpProbe(ctx context.Context, a *corev1.TCPSocketAction, c *corev1.Container, podIP string, timeout time.Duration) (verdict, string, error) {
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return failed, "", err
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return failed, err.Error(), nil
	}
	if err := conn.Close(); err != nil {
		return failed, "", fmt.Errorf("close probe connection: %w", err)
	}
	return passed, "", nil
}

// grpcProbe calls grpc.health.v1.Health/Check on the pod IP: SERVING
// passes, anything else fails with upstream's messages.
func grpcProbe(ctx context.Context, a *corev1.GRPCAction, podIP string, timeout time.Duration) (verdict, string, error) {
	addr := net.JoinHostPort(podIP, strconv.Itoa(int(a.Port)))
	v := version.Get()
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(fmt.Sprintf("kube-probe/%s.%s", v.Major, v.Minor)))
	if err != nil {
		return failed, "", fmt.Errorf("grpc probe client for %s: %w", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	service := ""
	if a.Service != nil {
		service = *a.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true))
	if err != nil {
		st, _ := status.FromError(err)
		switch {
		case conn.GetState() != connectivity.Ready && (st.Code() == codes.DeadlineExceeded || st.Code() == codes.Unavailable):
			return failed, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		case st.Code() == codes.Unimplemented:
			return failed, fmt.Sprintf("this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message()), nil
		case st.Code() == codes.DeadlineExceeded:
			return failed, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
		}
		return failed, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return failed, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return passed, "service healthy", nil
}
