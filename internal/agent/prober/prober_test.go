package prober_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/agent/prober"
)

// events collects the events a Manager records.
type events struct {
	mu   sync.Mutex
	list []string // "Type Reason Message fieldPath"
}

func (e *events) Event(obj runtime.Object, eventtype, reason, message string) {
	path := ""
	if ref, ok := obj.(*corev1.ObjectReference); ok {
		path = ref.FieldPath
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf("%s %s %s [%s]", eventtype, reason, message, path))
}

func (e *events) Eventf(obj runtime.Object, eventtype, reason, format string, args ...any) {
	e.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

func (e *events) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, format string, args ...any) {
	e.Eventf(obj, eventtype, reason, format, args...)
}

// find returns the first event containing want.
func (e *events) find(want string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		if strings.Contains(ev, want) {
			return ev, true
		}
	}
	return "", false
}

func (e *events) count(want string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if strings.Contains(ev, want) {
			n++
		}
	}
	return n
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.list, "\n")
}

// harness is a Manager with its events and OnChange calls.
type harness struct {
	m       *prober.Manager
	events  *events
	changes atomic.Int64
	changed chan types.UID
}

func newHarness(t *testing.T, o prober.Options) *harness {
	t.Helper()
	h := &harness{events: &events{}, changed: make(chan types.UID, 1000)}
	o.Recorder = h.events
	o.OnChange = func(uid types.UID) {
		h.changes.Add(1)
		select {
		case h.changed <- uid:
		default:
		}
	}
	h.m = prober.NewManager(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.m.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
		waitNoWorkers(t)
	})
	return h
}

func (h *harness) waitEvent(t *testing.T, want string) string {
	t.Helper()
	var ev string
	waitFor(t, "an event containing "+want, func() bool {
		var ok bool
		ev, ok = h.events.find(want)
		return ok
	}, h.events.String)
	return ev
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s; events:\n%s", what, explain())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workerGoroutines counts the probe worker goroutines alive.
func workerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "prober.(*worker).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func waitNoWorkers(t *testing.T) {
	t.Helper()
	waitFor(t, "every probe worker to return", func() bool { return workerGoroutines() == 0 }, func() string {
		return strconv.Itoa(workerGoroutines()) + " workers left"
	})
}

// podWith is a running pod whose one container "app" has the given probes
// and ports; probes default to a 1 s period.
func podWith(name, containerID string, c corev1.Container) (*corev1.Pod, *corev1.PodStatus) {
	c.Name = "app"
	for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if p != nil && p.PeriodSeconds == 0 {
			p.PeriodSeconds = 1
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name + "-uid")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
	status := &corev1.PodStatus{
		PodIP:             "127.0.0.1",
		ContainerStatuses: []corev1.ContainerStatus{running("app", containerID)},
	}
	return pod, status
}

func running(name, containerID string) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name:        name,
		ContainerID: "containerd://" + containerID,
		State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
	}
}

func httpGet(path string, port int) corev1.ProbeHandler {
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt(port)}}
}

func serverPort(t *testing.T, rawURL string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// grpcServer serves the standard health service (unless withHealth is
// false) with service "db" NOT_SERVING.
func grpcServer(t *testing.T, withHealth bool) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	if withHealth {
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
		healthpb.RegisterHealthServer(s, hs)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().(*net.TCPAddr).Port
}

// TestProbeHandlers runs a readiness probe of each handler against a real
// server on loopback and checks the readiness and events users see.
func TestProbeHandlers(t *testing.T) {
	var gotHeaders atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		gotHeaders.Store(r.Header.Clone())
		fmt.Fprint(w, "fine")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 1<<20)) })
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := serverPort(t, srv.URL)
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://localhost:%d/ok", port), http.StatusFound)
	})
	tlsSrv := httptest.NewTLSServer(mux)
	t.Cleanup(tlsSrv.Close)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	tcpPort := listener.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := listener.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	grpcPort, noHealthPort := grpcServer(t, true), grpcServer(t, false)
	closed := freePort(t)
	db := "db"

	tests := []struct {
		name      string
		handler   corev1.ProbeHandler
		ports     []corev1.ContainerPort
		wantReady bool
		wantEvent string // an event that must appear
	}{
		{name: "http 200", handler: httpGet("/ok", port), wantReady: true},
		{name: "http 500", handler: httpGet("/fail", port),
			wantEvent: "Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 500 [spec.containers{app}]"},
		{name: "https without verification", handler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/ok", Port: intstr.FromInt(serverPort(t, tlsSrv.URL)), Scheme: corev1.URISchemeHTTPS}}, wantReady: true},
		{name: "body over 10 KiB", handler: httpGet("/big", port), wantReady: true},
		{name: "redirect on the same host", handler: httpGet("/here", port), wantReady: true},
		{name: "redirect to another host", handler: httpGet("/elsewhere", port), wantReady: true,
			wantEvent: "Warning ProbeWarning Readiness probe warning: Probe terminated redirects, Response body: <a href="},
		{name: "named port", handler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("web")}},
			ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}, wantReady: true},
		{name: "unknown port name", handler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("nope")}},
			wantEvent: `Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing "nope": invalid syntax`},
		{name: "http refused", handler: httpGet("/ok", closed),
			wantEvent: fmt.Sprintf("Readiness probe failed: Get \"http://127.0.0.1:%d/ok\": dial tcp 127.0.0.1:%d: connect: connection refused", closed, closed)},
		{name: "tcp open", handler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(tcpPort)}}, wantReady: true},
		{name: "tcp refused", handler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(closed)}},
			wantEvent: fmt.Sprintf("Readiness probe failed: dial tcp 127.0.0.1:%d: connect: connection refused", closed)},
		{name: "grpc serving", handler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(grpcPort)}}, wantReady: true},
		{name: "grpc service not serving", handler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(grpcPort), Service: &db}},
			wantEvent: `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`},
		{name: "grpc without health service", handler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(noHealthPort)}},
			wantEvent: "Readiness probe failed: this server does not implement the grpc health protocol (grpc.health.v1.Health)"},
		{name: "grpc refused", handler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(closed)}},
			wantEvent: fmt.Sprintf(`Readiness probe failed: timeout: failed to connect service "127.0.0.1:%d" within 1s`, closed)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, prober.Options{})
			id := fmt.Sprintf("c%d", i)
			pod, status := podWith("handlers", id, corev1.Container{
				Ports:          tc.ports,
				ReadinessProbe: &corev1.Probe{ProbeHandler: tc.handler, FailureThreshold: 1},
			})
			h.m.Sync(pod, status)
			if h.m.Ready(id) {
				t.Fatal("Ready before the first probe, want false")
			}
			if tc.wantEvent != "" {
				h.waitEvent(t, tc.wantEvent)
			}
			if tc.wantReady {
				waitFor(t, "the container to become ready", func() bool { return h.m.Ready("containerd://" + id) }, h.events.String)
				if uid := <-h.changed; uid != pod.UID {
					t.Errorf("OnChange(%s), want the pod's uid %s", uid, pod.UID)
				}
			} else if h.m.Ready(id) {
				t.Errorf("Ready after a failing probe")
			}
			if !tc.wantReady && tc.wantEvent == "" {
				t.Fatal("case asserts nothing")
			}
		})
	}
	hdr, _ := gotHeaders.Load().(http.Header)
	if got := hdr.Get("User-Agent"); got != "kube-probe/1.32" {
		t.Errorf("probe User-Agent = %q, want kube-probe/1.32", got)
	}
	if got := hdr.Get("Accept"); got != "*/*" {
		t.Errorf("probe Accept = %q, want */*", got)
	}
}

// TestHTTPHeadersAndHost checks httpHeaders reach the server, including a
// Host header that sets the request's host.
func TestHTTPHeadersAndHost(t *testing.T) {
	type seen struct {
		host, token, agent string
	}
	got := make(chan seen, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("X-Token"), r.Header.Get("User-Agent")}
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, prober.Options{})
	pod, status := podWith("headers", "h1", corev1.Container{ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt(serverPort(t, srv.URL)), HTTPHeaders: []corev1.HTTPHeader{
			{Name: "X-Token", Value: "secret"}, {Name: "Host", Value: "example.test"}, {Name: "User-Agent", Value: "mine"},
		}},
	}}})
	h.m.Sync(pod, status)
	select {
	case s := <-got:
		if s != (seen{"example.test", "secret", "mine"}) {
			t.Errorf("server saw %+v, want host example.test, X-Token secret, User-Agent mine", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no probe request within a minute")
	}
}

// flipServer answers 500 on every path until flipped, then 200; it counts
// the requests per path.
type flipServer struct {
	*httptest.Server
	mu   sync.Mutex
	ok   map[string]bool
	hits map[string]int
}

func newFlipServer(t *testing.T) *flipServer {
	f := &flipServer{ok: map[string]bool{}, hits: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hits[r.URL.Path]++
		if !f.ok[r.URL.Path] {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flipServer) set(path string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok[path] = ok
}

func (f *flipServer) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *flipServer) probe(t *testing.T, path string, failureThreshold int32) *corev1.Probe {
	// A generous timeout: these tests are about results, not timeouts, and
	// a loaded machine must not turn a 500 into a timeout.
	return &corev1.Probe{ProbeHandler: httpGet(path, serverPort(t, f.URL)), FailureThreshold: failureThreshold, TimeoutSeconds: 10}
}

// TestReadinessFlips: a failing readiness probe that starts passing makes
// the container ready and calls OnChange; failing again makes it unready.
func TestReadinessFlips(t *testing.T) {
	f := newFlipServer(t)
	h := newHarness(t, prober.Options{})
	pod, status := podWith("flip", "r1", corev1.Container{ReadinessProbe: f.probe(t, "/ready", 1)})
	h.m.Sync(pod, status)
	h.waitEvent(t, "Readiness probe failed: HTTP probe failed with statuscode: 500")
	if h.m.Ready("r1") {
		t.Fatal("ready while the probe fails")
	}
	before := h.changes.Load()
	f.set("/ready", true)
	waitFor(t, "ready", func() bool { return h.m.Ready("r1") }, h.events.String)
	if h.changes.Load() == before {
		t.Error("readiness changed without OnChange")
	}
	f.set("/ready", false)
	waitFor(t, "unready again", func() bool { return !h.m.Ready("r1") }, h.events.String)
	if failed, _ := h.m.LivenessFailed("r1"); failed {
		t.Error("LivenessFailed for a readiness failure")
	}
}

// TestLivenessFailureThreshold: liveness failing failureThreshold times
// reports the container for a restart, with the probe's grace period.
func TestLivenessFailureThreshold(t *testing.T) {
	f := newFlipServer(t)
	h := newHarness(t, prober.Options{})
	live := f.probe(t, "/live", 3)
	grace := int64(7)
	live.TerminationGracePeriodSeconds = &grace
	pod, status := podWith("live", "l1", corev1.Container{LivenessProbe: live})
	h.m.Sync(pod, status)
	waitFor(t, "liveness failure", func() bool { failed, _ := h.m.LivenessFailed("l1"); return failed }, h.events.String)
	if n := h.events.count("Liveness probe failed: HTTP probe failed with statuscode: 500"); n < 3 {
		t.Errorf("%d Unhealthy events before the restart verdict, want at least failureThreshold (3)", n)
	}
	_, msg := h.m.LivenessFailed("containerd://l1")
	if msg != "Container app failed liveness probe, will be restarted" {
		t.Errorf("message = %q", msg)
	}
	if g := h.m.KillGracePeriod(pod, "l1"); g != 7 {
		t.Errorf("KillGracePeriod = %d, want the probe's 7", g)
	}
	if !h.m.Ready("l1") || !h.m.Started("l1") {
		t.Error("a container without readiness/startup probes must be ready and started")
	}

	// The restarted container has a new ID and starts over.
	status.ContainerStatuses[0] = running("app", "l2")
	h.m.Sync(pod, status)
	if failed, _ := h.m.LivenessFailed("l2"); failed {
		t.Error("the new container inherited the old one's liveness failure")
	}
	if failed, _ := h.m.LivenessFailed("l1"); failed {
		t.Error("the old container's results survived its replacement")
	}
	podGrace := int64(12)
	pod.Spec.TerminationGracePeriodSeconds = &podGrace
	if g := h.m.KillGracePeriod(pod, "l2"); g != 12 {
		t.Errorf("KillGracePeriod without a failure = %d, want the pod's 12", g)
	}
}

// TestStartupGatesOthers: liveness and readiness do not run until the
// startup probe succeeded.
func TestStartupGatesOthers(t *testing.T) {
	f := newFlipServer(t)
	f.set("/ready", true)
	h := newHarness(t, prober.Options{})
	pod, status := podWith("startup", "s1", corev1.Container{
		StartupProbe:   f.probe(t, "/started", 1000),
		LivenessProbe:  f.probe(t, "/live", 1),
		ReadinessProbe: f.probe(t, "/ready", 1),
	})
	h.m.Sync(pod, status)
	waitFor(t, "three startup probes", func() bool { return f.count("/started") >= 3 }, h.events.String)
	if f.count("/live") != 0 || f.count("/ready") != 0 {
		t.Fatalf("liveness (%d) or readiness (%d) probed before startup succeeded", f.count("/live"), f.count("/ready"))
	}
	if h.m.Started("s1") || h.m.Ready("s1") {
		t.Fatal("started or ready before the startup probe passed")
	}
	if failed, _ := h.m.LivenessFailed("s1"); failed {
		t.Fatal("startup failures below the threshold reported as a liveness failure")
	}
	f.set("/started", true)
	waitFor(t, "started and ready", func() bool { return h.m.Started("s1") && h.m.Ready("s1") }, h.events.String)
	waitFor(t, "liveness failure after startup", func() bool { failed, _ := h.m.LivenessFailed("s1"); return failed }, h.events.String)
}

// TestStartupFailureKills: a startup probe failing failureThreshold times
// reports the container for a restart.
func TestStartupFailureKills(t *testing.T) {
	f := newFlipServer(t)
	h := newHarness(t, prober.Options{})
	pod, status := podWith("startupfail", "sf1", corev1.Container{StartupProbe: f.probe(t, "/started", 2)})
	h.m.Sync(pod, status)
	waitFor(t, "startup failure", func() bool { failed, _ := h.m.LivenessFailed("sf1"); return failed }, h.events.String)
	if _, msg := h.m.LivenessFailed("sf1"); msg != "Container app failed startup probe, will be restarted" {
		t.Errorf("message = %q", msg)
	}
	h.waitEvent(t, "Warning Unhealthy Startup probe failed: HTTP probe failed with statuscode: 500")
	if g := h.m.KillGracePeriod(pod, "sf1"); g != corev1.DefaultTerminationGracePeriodSeconds {
		t.Errorf("KillGracePeriod = %d, want the default %d", g, corev1.DefaultTerminationGracePeriodSeconds)
	}
}

// TestSidecarsProbedInitContainersNot: restartable init containers are
// probed, others are not; containers not running are not probed.
func TestSidecarsProbedInitContainersNot(t *testing.T) {
	f := newFlipServer(t)
	f.set("/sidecar", true)
	h := newHarness(t, prober.Options{})
	always := corev1.ContainerRestartPolicyAlways
	pod, status := podWith("sidecar", "main1", corev1.Container{})
	sidecarProbe := f.probe(t, "/sidecar", 1)
	sidecarProbe.PeriodSeconds = 1
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "proxy", RestartPolicy: &always, ReadinessProbe: sidecarProbe},
		{Name: "setup", ReadinessProbe: f.probe(t, "/setup", 1)},
	}
	status.InitContainerStatuses = []corev1.ContainerStatus{running("proxy", "side1"), running("setup", "setup1")}
	h.m.Sync(pod, status)
	waitFor(t, "the sidecar ready", func() bool { return h.m.Ready("side1") }, h.events.String)
	if n := workerGoroutines(); n != 1 {
		t.Errorf("%d probe workers, want one for the sidecar only (init containers are not probed)", n)
	}

	status.InitContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}
	h.m.Sync(pod, status)
	hits := f.count("/sidecar")
	waitFor(t, "the sidecar's worker to stop", func() bool { return workerGoroutines() == 0 }, h.events.String)
	if f.count("/sidecar") > hits+1 {
		t.Errorf("the exited sidecar is still probed")
	}
}

// TestWorkersStop: Remove and the end of Start's context stop every worker
// goroutine; a stopped manager starts no new ones.
func TestWorkersStop(t *testing.T) {
	f := newFlipServer(t)
	m := prober.NewManager(prober.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	defer cancel()

	podA, statusA := podWith("a", "a1", corev1.Container{LivenessProbe: f.probe(t, "/a", 1000), ReadinessProbe: f.probe(t, "/a", 1000)})
	podB, statusB := podWith("b", "b1", corev1.Container{ReadinessProbe: f.probe(t, "/b", 1000)})
	m.Sync(podA, statusA)
	m.Sync(podB, statusB)
	waitFor(t, "three workers for three probes", func() bool { return workerGoroutines() == 3 }, func() string { return strconv.Itoa(workerGoroutines()) })
	m.Remove(podA.UID)
	waitFor(t, "pod a's workers to return", func() bool { return workerGoroutines() == 1 }, func() string { return strconv.Itoa(workerGoroutines()) })
	if !m.Ready("a1") {
		t.Error("a removed pod's container still has readiness results")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	if n := workerGoroutines(); n != 0 {
		t.Fatalf("%d workers after Start returned", n)
	}
	m.Sync(podA, statusA)
	if !m.Ready("a1") {
		t.Fatal("a stopped manager took on a pod (its readiness is pending)")
	}
}

// TestInitialDelay: a probe waits initialDelaySeconds after the container
// started; one whose delay has passed runs at once.
func TestInitialDelay(t *testing.T) {
	f := newFlipServer(t)
	f.set("/early", true)
	f.set("/late", true)
	h := newHarness(t, prober.Options{})
	delayed := f.probe(t, "/late", 1)
	delayed.InitialDelaySeconds = 3600
	pod, status := podWith("delay", "d1", corev1.Container{LivenessProbe: f.probe(t, "/early", 1), ReadinessProbe: delayed})
	h.m.Sync(pod, status)
	waitFor(t, "three liveness probes", func() bool { return f.count("/early") >= 3 }, h.events.String)
	if f.count("/late") != 0 || h.m.Ready("d1") {
		t.Fatal("the readiness probe ran before its initial delay")
	}

	status.ContainerStatuses[0] = running("app", "d2")
	status.ContainerStatuses[0].State.Running.StartedAt = metav1.NewTime(time.Now().Add(-2 * time.Hour))
	h.m.Sync(pod, status)
	waitFor(t, "ready once the delay has passed", func() bool { return h.m.Ready("d2") }, h.events.String)
}
