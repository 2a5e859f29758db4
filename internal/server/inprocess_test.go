package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/auth/pki"
)

// testLoopback is a loopback whose handler is h, with a fresh client CA.
func testLoopback(t *testing.T, serving context.Context, h http.Handler) *loopback {
	t.Helper()
	ca, err := pki.EnsureCA(t.TempDir(), "client-ca", "test-client-ca")
	if err != nil {
		t.Fatal(err)
	}
	return &loopback{certs: &serverCerts{clientCA: ca}, url: "https://127.0.0.1:6443", handler: h, serving: serving}
}

func testClient(t *testing.T, lb *loopback, user string, groups ...string) *http.Client {
	t.Helper()
	cfg, err := lb.config(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: cfg.Transport}
}

func TestInProcessTransportAuthenticatesAsTheComponent(t *testing.T) {
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := auth.ClientCertAuthenticator{}.Authenticate(r)
		if err != nil || !ok {
			http.Error(w, fmt.Sprintf("not authenticated: %v", err), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s %v", u.Name, u.Groups)
	})
	c := testClient(t, testLoopback(t, context.Background(), who), "system:node:n1", auth.GroupNodes)
	resp, err := c.Get("https://127.0.0.1:6443/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := "system:node:n1 [system:nodes system:authenticated]"
	if resp.StatusCode != http.StatusOK || string(body) != want {
		t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the sniffed text/plain", ct)
	}
}

func TestInProcessTransportBufferedResponses(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/created":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Header().Set("X-Too-Late", "yes") // after the header was sent: not seen
			fmt.Fprintf(w, `{"got":%q,"uri":%q,"remote":%q}`, body, r.RequestURI, r.RemoteAddr)
		case "/empty":
		case "/panic":
			panic("handler bug")
		}
	})
	c := testClient(t, testLoopback(t, context.Background(), h), "u")
	tests := []struct {
		name, path, body string
		wantCode         int
		wantBody         string
		wantErr          bool
	}{
		{name: "status, header and body", path: "/created?x=1", body: "hello", wantCode: http.StatusCreated,
			wantBody: `{"got":"hello","uri":"/created?x=1","remote":"127.0.0.1:0"}`},
		{name: "handler writes nothing", path: "/empty", wantCode: http.StatusOK},
		{name: "handler panics", path: "/panic", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Post("https://127.0.0.1:6443"+tc.path, "text/plain", strings.NewReader(tc.body))
			if tc.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || string(body) != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if resp.Header.Get("X-Too-Late") != "" {
				t.Error("a header set after WriteHeader reached the client")
			}
		})
	}
}

// streamingHandler writes one line per value sent on lines and flushes,
// until its request ends; it reports how the request ended on ended.
func streamingHandler(lines <-chan string, ended chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case l := <-lines:
				if _, err := io.WriteString(w, l+"\n"); err != nil {
					ended <- err
					return
				}
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				ended <- r.Context().Err()
				return
			}
		}
	}
}

func TestInProcessTransportStreamsWatches(t *testing.T) {
	lines, ended := make(chan string), make(chan error, 1)
	c := testClient(t, testLoopback(t, context.Background(), streamingHandler(lines, ended)), "u")
	resp, err := c.Get("https://127.0.0.1:6443/api/v1/pods?watch=true")
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	for _, want := range []string{"one", "two"} {
		lines <- want // the handler is still running while the client reads
		got, err := r.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	resp.Body.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler ended with %v, want its request cancelled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("closing the body did not end the handler's request")
	}
}

func TestInProcessTransportStopsWithTheServer(t *testing.T) {
	serving, stop := context.WithCancel(context.Background())
	lines, ended := make(chan string), make(chan error, 1)
	c := testClient(t, testLoopback(t, serving, streamingHandler(lines, ended)), "u")
	resp, err := c.Get("https://127.0.0.1:6443/api/v1/watch/pods")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stop()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler ended with %v, want its request cancelled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stopping the server did not end a running watch")
	}
	// The stream ends (cleanly or not, depending on whether the handler
	// or the cancellation got there first) instead of hanging.
	_, _ = io.ReadAll(resp.Body)
	if _, err := c.Get("https://127.0.0.1:6443/healthz"); !errors.Is(err, errServerStopped) {
		t.Fatalf("request after stop: err = %v, want %v", err, errServerStopped)
	}
}
