// Package server runs `skiff server`: storage, certificates, the API server
// and (in later parts) the scheduler, controllers and an in-process agent,
// started in order in Run.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/agent"
	"github.com/skiffhq/skiff/internal/apiserver"
	"github.com/skiffhq/skiff/internal/apiserver/admission"
	"github.com/skiffhq/skiff/internal/apiserver/admission/defaulttolerationseconds"
	"github.com/skiffhq/skiff/internal/apiserver/admission/namespacelifecycle"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/cacher"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/version"
)

// Options are the `skiff server` flags.
type Options struct {
	DataDir         string
	BindAddress     string
	HTTPSPort       int
	TLSSANs         []string
	WriteKubeconfig string
	DisableAgent    bool
	// Agent configures the in-process agent (node name, IP, runtime,
	// labels, reservations); DataDir, Config and ControlPlane are set by
	// the server.
	Agent agent.Options

	EtcdEndpoints          []string
	EtcdCertFile           string
	EtcdKeyFile            string
	EtcdCAFile             string
	EtcdCompactionInterval time.Duration

	// DisableScheduler skips the in-process scheduler; SchedulerConfig is
	// its KubeSchedulerConfiguration file.
	DisableScheduler bool
	SchedulerConfig  string
	// Controllers selects controllers like kube-controller-manager's
	// --controllers ("*", "foo", "-foo"); DisableControllers runs none.
	Controllers              []string
	DisableControllers       bool
	TerminatedPodGCThreshold int
	// ClusterSigningDuration caps the validity of certificates the
	// csrsigning controller issues (default a year).
	ClusterSigningDuration time.Duration

	// ClusterCIDR and NodeCIDRMaskSize are where node pod CIDRs come from;
	// NodeMonitorGracePeriod is how long a silent node stays Ready.
	ClusterCIDR            string
	NodeCIDRMaskSize       int
	NodeMonitorGracePeriod time.Duration

	ServiceCIDR   string
	NodePortRange string
	EventTTL      time.Duration

	// Ready, when set, is closed once the server answers /readyz.
	Ready chan<- *Running
}

// Running describes a started server, for tests and callers.
type Running struct {
	URL            string
	KubeconfigPath string
	Kubeconfig     []byte
	API            *apiserver.Server
	// JoinToken is what agents pass to --token (also in DIR/server/token).
	JoinToken string
}

// DefaultOptions are the defaults of the flags.
func DefaultOptions() Options {
	return Options{
		DataDir: ".skiff", BindAddress: "0.0.0.0", HTTPSPort: 6443,
		EtcdCompactionInterval: 5 * time.Minute,
		ServiceCIDR:            "10.96.0.0/16", NodePortRange: "30000-32767",
		EventTTL:    time.Hour,
		ClusterCIDR: "10.42.0.0/16", NodeCIDRMaskSize: 24, NodeMonitorGracePeriod: 40 * time.Second,
		Controllers: []string{"*"}, TerminatedPodGCThreshold: 12500,
		ClusterSigningDuration: 365 * 24 * time.Hour,
	}
}

// Run starts the server and blocks until ctx ends or a component fails.
func Run(ctx context.Context, o Options) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := managerOptions(o).Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	metricsReg := prometheus.NewRegistry()
	metricsReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// 1. Storage: embedded etcd unless external endpoints are given.
	client, closeStore, err := openEtcd(ctx, o)
	if err != nil {
		return err
	}
	defer closeStore()
	etcdMetrics, err := etcd.NewMetrics(metricsReg)
	if err != nil {
		return err
	}
	backend := etcd.New(client, etcd.WithMetrics(etcdMetrics))
	var wg sync.WaitGroup
	defer wg.Wait()
	runComponent(ctx, cancel, &wg, "etcd compactor", etcd.NewCompactor(client, o.EtcdCompactionInterval, slog.Default()).Start)

	// 2. Certificates and the listener (port 0 picks a free one).
	certs, err := ensureCerts(o)
	if err != nil {
		return err
	}
	joinToken, err := ensureJoinToken(o.DataDir, certs)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.BindAddress, strconv.Itoa(o.HTTPSPort)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port

	// 3. The API server with a watch cache per resource.
	api, caches, err := newAPIServer(o, backend, metricsReg, joinToken)
	if err != nil {
		ln.Close()
		return err
	}
	for _, c := range caches {
		runComponent(ctx, cancel, &wg, "watch cache", c.Start)
	}
	httpServer := &http.Server{Handler: withCACerts(api, certs.serverCA.CertPEM), TLSConfig: certs.tls, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slogErrorLog()}
	// The API keeps answering until the control loops have stopped, so
	// they can release their leases on the way out.
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	runComponent(serveCtx, cancel, &wg, "https server", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer done()
			_ = httpServer.Shutdown(shutdownCtx)
		}()
		if err := httpServer.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})

	// 4. Wait for the caches, then bootstrap the objects every cluster has.
	for _, c := range caches {
		select {
		case <-c.Ready():
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if err := bootstrap(ctx, api, o, port); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := publishClientCA(ctx, api, certs.clientCA.CertPEM); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}

	// 5. Kubeconfig for the admin, then ready: whoever waits for /readyz
	// finds the kubeconfig in place.
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	kc, kcPath, err := writeAdminKubeconfig(o, certs, url)
	if err != nil {
		return err
	}
	api.SetReady(true)

	// 6. The control loops: scheduler and controllers.
	var loops sync.WaitGroup
	lb := &loopback{certs: certs, url: url, handler: httpServer.Handler, serving: serveCtx}
	if err := startControlLoops(ctx, cancel, &loops, o, lb); err != nil {
		return err
	}
	// 7. The in-process agent, as its node's user.
	if err := startAgent(ctx, &loops, o, lb); err != nil {
		return err
	}
	slog.Info("skiff server ready", "url", url, "kubeconfig", kcPath, "version", version.Get().GitVersion)
	slog.Info("join more nodes with: skiff agent --server URL --token TOKEN", "token", joinToken.String())
	if o.Ready != nil {
		o.Ready <- &Running{URL: url, KubeconfigPath: kcPath, Kubeconfig: kc, API: api, JoinToken: joinToken.String()}
	}
	<-ctx.Done()
	// Give the control loops a moment to stop (and release their leases)
	// while the API still answers, but never hang on one.
	waitTimeout(&loops, 5*time.Second)
	stopServing()
	waitTimeout(&loops, 5*time.Second)
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// runComponent runs start in a goroutine; a failure stops the server.
func runComponent(ctx context.Context, cancel context.CancelCauseFunc, wg *sync.WaitGroup, name string, start func(context.Context) error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := start(ctx); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("%s: %w", name, err))
		}
	}()
}

func openEtcd(ctx context.Context, o Options) (*clientv3.Client, func(), error) {
	if len(o.EtcdEndpoints) > 0 {
		c, err := etcd.NewClient(o.EtcdEndpoints, o.EtcdCertFile, o.EtcdKeyFile, o.EtcdCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to etcd: %w", err)
		}
		return c, func() { c.Close() }, nil
	}
	e, err := etcd.StartEmbedded(ctx, filepath.Join(o.DataDir, "db"))
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	return e.Client(), func() { e.Close() }, nil
}

func newAPIServer(o Options, backend storage.Interface, reg *prometheus.Registry, joinToken auth.JoinToken) (*apiserver.Server, []*cacher.Cacher, error) {
	cidr, err := netip.ParsePrefix(o.ServiceCIDR)
	if err != nil || !cidr.Addr().Is4() {
		return nil, nil, fmt.Errorf("--service-cidr %q: must be an IPv4 CIDR", o.ServiceCIDR)
	}
	lo, hi, err := parsePortRange(o.NodePortRange)
	if err != nil {
		return nil, nil, err
	}
	deps := core.Deps{
		ServiceIPs: registry.NewIPAllocator(backend, "serviceips", cidr),
		NodePorts:  registry.NewPortAllocator(backend, "servicenodeports", lo, hi),
		EventTTL:   o.EventTTL,
		Authorizer: auth.AllowAuthenticated{},
	}
	var caches []*cacher.Cacher
	var api *apiserver.Server
	nsLifecycle := &namespacelifecycle.Plugin{Immortal: []string{"default", "kube-system", "kube-public"}}
	priorities := priorityAdmission(func() *apiserver.Server { return api })
	serviceAccounts := serviceAccountAdmission(func() *apiserver.Server { return api }, o)
	tokens, err := serviceAccountTokens(o)
	if err != nil {
		return nil, nil, err
	}
	agentTLS, err := agentClientTLS(o)
	if err != nil {
		return nil, nil, err
	}
	api, err = apiserver.New(apiserver.Config{
		Storage: backend,
		Cache: func(backend storage.Interface, prefix string) storage.Interface {
			c := cacher.New(backend, prefix)
			caches = append(caches, c)
			return c
		},
		Resources:     apiserver.BuiltinResources(deps),
		Scheme:        apiserver.NewScheme(),
		Authenticator: auth.Union{auth.ClientCertAuthenticator{}, auth.NewBootstrapTokenAuthenticator(joinToken), tokens.Authenticator()},
		Admission:     admission.Chain{nsLifecycle, priorities, &defaulttolerationseconds.Plugin{}, serviceAccounts},
		Metrics:       reg,
		Version:       version.Get(),
		NodeClientTLS: agentTLS,
		// Signs serviceaccounts/token; authenticates the tokens above.
		ServiceAccountTokens: tokens,
	})
	if err != nil {
		return nil, nil, err
	}
	nsLifecycle.Get = namespaceGetter(api)
	tokens.Validate = api.ValidateBoundToken
	return api, caches, nil
}

func parsePortRange(s string) (int, int, error) {
	var lo, hi int
	if _, err := fmt.Sscanf(s, "%d-%d", &lo, &hi); err != nil || lo <= 0 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("--service-node-port-range %q: want LOW-HIGH", s)
	}
	return lo, hi, nil
}

// waitTimeout waits for wg or until d passed.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		slog.Warn("control loops still stopping; closing the API anyway", "after", d)
	}
}
