package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gwebsocket "github.com/gorilla/websocket"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	// portForwardProtocol is the SPDY port-forward protocol runtimes speak.
	portForwardProtocol = "portforward.k8s.io"
	// tunnelProtocol is the WebSocket subprotocol of SPDY tunnelled over a
	// WebSocket (kubectl 1.30+).
	tunnelProtocol = "SPDY/3.1+" + portForwardProtocol
)

// servePortForward forwards connections to ports of a pod (kubectl
// port-forward). A client tunnelling SPDY over a WebSocket gets its frames
// unwrapped and piped to the runtime's SPDY server, a SPDY client is
// proxied there unchanged: either way the client and the runtime speak
// SPDY to each other.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	ns, pod := r.PathValue("ns"), r.PathValue("pod")
	if !httpstream.IsUpgradeRequest(r) {
		writeError(w, badRequest("Upgrade request required"))
		return
	}
	var ports []int32
	for _, p := range r.URL.Query()["port"] {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			writeError(w, badRequest("invalid port %q", p))
			return
		}
		ports = append(ports, int32(n))
	}
	sandbox, err := s.readySandbox(r.Context(), ns, pod)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := s.o.Runtime.PortForward(r.Context(), &runtimeapi.PortForwardRequest{PodSandboxId: sandbox, Port: ports})
	if err != nil {
		writeError(w, err)
		return
	}
	target, err := url.Parse(resp.GetUrl())
	if err != nil {
		writeError(w, err)
		return
	}
	if wsstream.IsWebSocketRequestWithTunnelingProtocol(r) {
		s.tunnel(w, r, target)
		return
	}
	s.proxyUpgrade(w, r, target)
}

// tunnel accepts the client's WebSocket, opens a SPDY connection to the
// runtime and copies the SPDY frames between the two.
func (s *Server) tunnel(w http.ResponseWriter, r *http.Request, target *url.URL) {
	backend, err := dialSPDY(target, portForwardProtocol)
	if err != nil {
		writeError(w, fmt.Errorf("connect to the runtime's streaming server: %w", err))
		return
	}
	defer backend.Close()
	up := gwebsocket.Upgrader{Subprotocols: []string{tunnelProtocol}, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.o.Log.Debug("port-forward websocket upgrade", "err", err)
		return
	}
	defer ws.Close()
	done := make(chan struct{}, 2)
	go func() { // client → runtime
		defer func() { done <- struct{}{} }()
		for {
			typ, rd, err := ws.NextReader()
			if err != nil {
				return
			}
			if typ != gwebsocket.BinaryMessage {
				continue
			}
			if _, err := io.Copy(backend, rd); err != nil {
				return
			}
		}
	}()
	go func() { // runtime → client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32*1024)
		for {
			n, err := backend.Read(buf)
			if n > 0 {
				if err := ws.WriteMessage(gwebsocket.BinaryMessage, buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
	_ = ws.WriteControl(gwebsocket.CloseMessage, gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

// bufferedConn is a connection whose first bytes were read into a buffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialSPDY opens an upgraded SPDY/3.1 connection to a streaming URL with
// the given X-Stream-Protocol-Version and returns the raw connection.
func dialSPDY(target *url.URL, protocol string) (net.Conn, error) {
	if target.Scheme != "http" {
		return nil, fmt.Errorf("unsupported streaming URL scheme %q", target.Scheme)
	}
	conn, err := net.DialTimeout("tcp", target.Host, 30*time.Second)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, target.String(), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set(httpstream.HeaderConnection, httpstream.HeaderUpgrade)
	req.Header.Set(httpstream.HeaderUpgrade, "SPDY/3.1")
	req.Header.Set(httpstream.HeaderProtocolVersion, protocol)
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		conn.Close()
		return nil, fmt.Errorf("upgrade refused: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	_ = conn.SetDeadline(time.Time{})
	return &bufferedConn{Conn: conn, r: br}, nil
}
