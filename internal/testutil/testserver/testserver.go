// Package testserver starts a real skiff server in-process (embedded etcd in
// a temp dir, HTTPS on a free loopback port) for integration tests, and
// hands out client-go clients for it.
package testserver

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiffhq/skiff/internal/server"
)

// Server is a running test server.
type Server struct {
	t       testing.TB
	Options server.Options
	// Config is an admin client config; Client a clientset built from it.
	Config         *rest.Config
	Client         kubernetes.Interface
	KubeconfigPath string
	URL            string

	cancel context.CancelFunc
	done   chan error
}

// Start runs a server with data in a fresh temp dir, without scheduler and
// controllers; edit may change the options. The server stops when the test
// ends.
func Start(t testing.TB, edit func(*server.Options)) *Server {
	t.Helper()
	o := server.DefaultOptions()
	o.DataDir = t.TempDir()
	o.BindAddress = "127.0.0.1"
	o.HTTPSPort = 0
	o.DisableAgent = true
	// Tests start the control loops they exercise themselves (or opt in
	// through edit), so by default none runs in the server.
	o.DisableScheduler = true
	o.DisableControllers = true
	if edit != nil {
		edit(&o)
	}
	s := &Server{t: t, Options: o}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ready := make(chan *server.Running, 1)
	o := s.Options
	o.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- server.Run(ctx, o) }()
	select {
	case r := <-ready:
		s.URL, s.KubeconfigPath = r.URL, r.KubeconfigPath
		cfg, err := clientcmd.RESTConfigFromKubeConfig(r.Kubeconfig)
		if err != nil {
			s.t.Fatalf("parse kubeconfig: %v", err)
		}
		cfg.QPS, cfg.Burst = -1, -1
		s.Config = cfg
		s.Client = kubernetes.NewForConfigOrDie(cfg)
	case err := <-s.done:
		s.t.Fatalf("server exited before ready: %v", err)
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server not ready after 60s")
	}
}

// Stop stops the server and waits for it to exit; it is safe to call twice.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server exited with error: %v", err)
	}
	s.cancel = nil
}

// Restart stops the server and starts it again on the same data dir and
// port, keeping clients' config valid.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if u, err := portOf(s.URL); err == nil {
		s.Options.HTTPSPort = u
	}
	s.start()
}
