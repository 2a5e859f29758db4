package deployment_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// kubectl runs the real kubectl against env's server.
type kubectl struct {
	t          *testing.T
	path       string
	kubeconfig string
	namespace  string
}

func (k kubectl) run(args ...string) (string, error) {
	k.t.Helper()
	full := append([]string{"--kubeconfig", k.kubeconfig, "-n", k.namespace}, args...)
	out, err := exec.Command(k.path, full...).CombinedOutput()
	return string(out), err
}

func (k kubectl) must(args ...string) string {
	k.t.Helper()
	out, err := k.run(args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestKubectlRollout drives a Deployment with the kubectl users have:
// rollout status must finish when the rollout has, and undo, history,
// pause, resume and restart must work.
func TestKubectlRollout(t *testing.T) {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	env, _ := start(t)
	ns := env.Namespace("kubectl")
	k := kubectl{t: t, path: path, kubeconfig: env.Server.KubeconfigPath, namespace: ns}
	c := env.Client

	k.must("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	k.must("set", "image", "deployment/web", "nginx=nginx:1.28")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 3)) {
		t.Fatalf("after set image: pod images = %v", got)
	}
	// `rollout status` returned only once no old pod is left active.
	history := k.must("rollout", "history", "deployment/web")
	for _, rev := range []string{"\n1 ", "\n2 "} {
		if !strings.Contains(history, rev) {
			t.Fatalf("rollout history lacks revision %q:\n%s", strings.TrimSpace(rev), history)
		}
	}

	out := k.must("rollout", "undo", "deployment/web")
	if !strings.Contains(out, "rolled back") {
		t.Fatalf("undo said %q", out)
	}
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.27", 3)) {
		t.Fatalf("after undo: pod images = %v", got)
	}
	// Revision 1 came back as 3; revision 2 is still there to go to.
	k.must("rollout", "undo", "deployment/web", "--to-revision=2")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.28", 3)) {
		t.Fatalf("after undo --to-revision=2: pod images = %v", got)
	}

	k.must("rollout", "pause", "deployment/web")
	k.must("set", "image", "deployment/web", "nginx=nginx:1.29")
	if out, err := k.run("rollout", "undo", "deployment/web"); err == nil {
		t.Fatalf("undo of a paused deployment succeeded: %s", out)
	}
	k.must("rollout", "resume", "deployment/web")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	if got := images(t, c, ns); !slices.Equal(got, repeat("nginx:1.29", 3)) {
		t.Fatalf("after resume: pod images = %v", got)
	}
	k.must("rollout", "restart", "deployment/web")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")

	// A rollout that never becomes ready: status fails at the deadline.
	k.must("patch", "deployment/web", "-p", `{"spec":{"progressDeadlineSeconds":2}}`)
	k.must("set", "image", "deployment/web", "nginx=never:ready")
	out, err = k.run("rollout", "status", "deployment/web", "--timeout=60s")
	if err == nil || !strings.Contains(out, "exceeded its progress deadline") {
		t.Fatalf("rollout status of a stuck rollout: err %v, output %q", err, out)
	}
}
