package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/skiffhq/skiff/internal/agent/server"
)

// testPortForward forwards a local port to the pod's web server, over
// SPDY and over SPDY tunnelled through a WebSocket, and fetches a page.
func (e *env) testPortForward(t *testing.T) {
	cfg := e.agent.RESTConfig(t, server.APIServerUser)
	u, _ := url.Parse(e.agent.URL + "/portForward/default/web")
	dialers := map[string]func(t *testing.T) httpstream.Dialer{
		"spdy": func(t *testing.T) httpstream.Dialer {
			rt, upgrader, err := spdy.RoundTripperFor(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
		},
		"websocket": func(t *testing.T) httpstream.Dialer {
			d, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
	for name, dialer := range dialers {
		t.Run(name, func(t *testing.T) {
			stop, ready := make(chan struct{}), make(chan struct{})
			var out, errOut strings.Builder
			pf, err := portforward.NewOnAddresses(dialer(t), []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", e.httpdPort)}, stop, ready, &out, &errOut)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- pf.ForwardPorts() }()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("ForwardPorts: %v (%s)", err, errOut.String())
			}
			defer func() {
				close(stop)
				if err := <-done; err != nil {
					t.Errorf("ForwardPorts: %v", err)
				}
			}()
			ports, err := pf.GetPorts()
			if err != nil || len(ports) != 1 {
				t.Fatalf("GetPorts = %v, %v", ports, err)
			}
			for i := 0; i < 2; i++ { // two connections over one session
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", ports[0].Local))
				if err != nil {
					t.Fatalf("GET through the forwarded port: %v (%s)", err, errOut.String())
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "hello from the pod\n" {
					t.Errorf("GET through the forwarded port = %d %q", resp.StatusCode, body)
				}
			}
		})
	}
}
