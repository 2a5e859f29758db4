package prober_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/prober"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// runBusybox runs a busybox container in a new host-network sandbox and
// returns its CRI ID once it runs.
func runBusybox(t *testing.T, n *crinode.Node, name string, command ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD}
	sandbox := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		LogDirectory: filepath.Join(n.Dir, "pods", uid),
		Labels:       map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: "default", cri.LabelPodUID: uid},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}},
	}
	podID, err := n.Client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	config := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: images.BusyboxImageRef},
		Command:  command,
		LogPath:  "app/0.log",
		Labels: map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: "default", cri.LabelPodUID: uid,
			cri.LabelContainerName: "app"},
		Annotations: map[string]string{cri.AnnotationRestartCount: "0"},
		Linux:       &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: ns}},
	}
	id, err := n.Client.CreateContainer(ctx, podID, config, sandbox)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := n.Client.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	crinode.WaitFor(t, time.Minute, "the container to run", func(ctx context.Context) (bool, error) {
		st, err := n.Client.ContainerStatus(ctx, id)
		return err == nil && st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING, err
	})
	return id
}

func execProbe(cmd ...string) *corev1.Probe {
	// A generous timeout: a loaded machine must not turn a result into a
	// timeout (the timeout case sets its own).
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}}, FailureThreshold: 1, TimeoutSeconds: 30}
}

func execIn(t *testing.T, n *crinode.Node, id string, cmd ...string) cri.ExecResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := n.Client.ExecSync(ctx, id, cmd, 30*time.Second)
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return res
}

// TestExecProbesInARealContainer runs exec probes through CRI in a busybox
// container: readiness flips when a file appears, a failing liveness probe
// reports its output, and a probe outliving timeoutSeconds fails.
func TestExecProbesInARealContainer(t *testing.T) {
	n := crinode.Start(t)
	n.ImportImages(t)
	id := runBusybox(t, n, "exec-probes", "sleep", "3600")

	h := newHarness(t, prober.Options{Runtime: n.Client})
	pod, status := podWith("exec", id, corev1.Container{
		ReadinessProbe: execProbe("test", "-e", "/tmp/ready"),
		LivenessProbe:  execProbe("sh", "-c", "if [ -e /tmp/die ]; then echo dying; exit 1; fi"),
	})
	h.m.Sync(pod, status)
	h.waitEvent(t, "Warning Unhealthy Readiness probe failed:  [spec.containers{app}]")
	if h.m.Ready(id) {
		t.Fatal("ready before /tmp/ready exists")
	}
	execIn(t, n, id, "touch", "/tmp/ready")
	waitFor(t, "ready", func() bool { return h.m.Ready(id) }, h.events.String)
	if failed, _ := h.m.LivenessFailed(id); failed {
		t.Fatal("liveness failed while the probe passes")
	}
	execIn(t, n, id, "touch", "/tmp/die")
	waitFor(t, "liveness failure", func() bool { failed, _ := h.m.LivenessFailed(id); return failed }, h.events.String)
	h.waitEvent(t, "Warning Unhealthy Liveness probe failed: dying\n")

	slow := execProbe("sleep", "30")
	slow.TimeoutSeconds = 1
	pod2, status2 := podWith("exec-timeout", id, corev1.Container{ReadinessProbe: slow})
	h.m.Remove(pod.UID)
	h.m.Sync(pod2, status2)
	h.waitEvent(t, `Readiness probe failed: command timed out: "sleep 30" timed out after 1s`)
	if h.m.Ready(id) {
		t.Error("ready although the probe timed out")
	}
}

// TestHooks runs lifecycle hooks against a real container and server.
func TestHooks(t *testing.T) {
	n := crinode.Start(t)
	n.ImportImages(t)
	id := runBusybox(t, n, "hooks", "sleep", "3600")
	paths := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path + " " + r.Header.Get("User-Agent")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	port := serverPort(t, srv.URL)
	pod, status := podWith("hooks", id, corev1.Container{Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: int32(port)}}})
	pod.Status = *status
	ctx := context.Background()

	t.Run("exec", func(t *testing.T) {
		h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"touch", "/tmp/hooked"}}}
		if err := prober.RunHandler(ctx, n.Client, pod, "containerd://"+id, "127.0.0.1", h); err != nil {
			t.Fatalf("RunHandler: %v", err)
		}
		if res := execIn(t, n, id, "test", "-e", "/tmp/hooked"); res.ExitCode != 0 {
			t.Error("the exec hook did not run in the container")
		}
	})
	t.Run("exec failure", func(t *testing.T) {
		h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo out; echo bad >&2; exit 3"}}}
		err := prober.RunHandler(ctx, n.Client, pod, id, "127.0.0.1", h)
		var hookErr *prober.HookError
		if !errors.As(err, &hookErr) {
			t.Fatalf("RunHandler = %v, want a HookError", err)
		}
		want := `Exec lifecycle hook ([sh -c echo out; echo bad >&2; exit 3]) for Container "app" in Pod "hooks_default(hooks-uid)" failed - error: command 'sh -c echo out; echo bad >&2; exit 3' exited with 3: bad
, message: "out\nbad\n"`
		if got := hookErr.EventMessage(pod, "app"); got != want {
			t.Errorf("event message\n got %q\nwant %q", got, want)
		}
		if !strings.Contains(err.Error(), `message: "out\nbad\n"`) {
			t.Errorf("error %q does not carry the output", err)
		}
	})
	t.Run("http with a named port", func(t *testing.T) {
		h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/pre-stop", Port: intstr.FromString("admin")}}
		if err := prober.RunHandler(ctx, n.Client, pod, id, "127.0.0.1", h); err != nil {
			t.Fatalf("RunHandler: %v (any response counts as success, as upstream)", err)
		}
		if got := <-paths; got != "/pre-stop kube-lifecycle/1.32" {
			t.Errorf("server saw %q", got)
		}
	})
	t.Run("https falls back to http", func(t *testing.T) {
		h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/tls", Port: intstr.FromInt(port), Scheme: corev1.URISchemeHTTPS}}
		if err := prober.RunHandler(ctx, n.Client, pod, id, "127.0.0.1", h); err != nil {
			t.Fatalf("RunHandler: %v", err)
		}
		if got := <-paths; got != "/tls kube-lifecycle/1.32" {
			t.Errorf("server saw %q", got)
		}
	})
	t.Run("http refused", func(t *testing.T) {
		h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromInt(freePort(t))}}
		err := prober.RunHandler(ctx, n.Client, pod, id, "127.0.0.1", h)
		if err == nil || !strings.Contains(err.Error(), "HTTP lifecycle hook (/x) failed - error: Get") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("RunHandler = %v, want a refused HTTP hook", err)
		}
	})
	t.Run("sleep", func(t *testing.T) {
		h := &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}
		if err := prober.RunHandler(ctx, n.Client, pod, id, "", h); err != nil {
			t.Fatalf("RunHandler: %v", err)
		}
	})
	t.Run("sleep cut short", func(t *testing.T) {
		h := &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3600}}
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- prober.RunHandler(cctx, n.Client, pod, id, "", h) }()
		cancel()
		select {
		case err := <-errc:
			if err == nil || !strings.Contains(err.Error(), "container terminated before sleep hook finished") {
				t.Errorf("RunHandler = %v, want the sleep cut short", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("a cancelled sleep hook did not return")
		}
	})
}
