package statefulset_test

import (
	"strings"
	"testing"

	"github.com/skiffhq/skiff/internal/testutil/kubectl"
)

const webManifest = `
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 3
  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: nginx:1.27
`

// TestKubectlRollout drives a StatefulSet with kubectl: rollout status
// returns once the rollout is complete, and history and undo work on the
// ControllerRevisions.
func TestKubectlRollout(t *testing.T) {
	env, _ := start(t)
	c := env.Client
	ns := env.Namespace("sts-kubectl")
	kc := kubectl.New(t, env.Server.KubeconfigPath, ns)
	k := kc.Must

	kc.MustIn(webManifest, "apply", "-f", "-")
	out := k("rollout", "status", "statefulset/web", "--timeout=60s")
	if !strings.Contains(out, "partitioned roll out complete: 3 new pods have been updated") {
		t.Fatalf("rollout status said %q", out)
	}
	k("set", "image", "statefulset/web", "main=nginx:1.28")
	k("rollout", "status", "statefulset/web", "--timeout=60s")
	imagesAre(t, pods(t, c, ns), "nginx:1.28")

	history := k("rollout", "history", "statefulset/web")
	for _, rev := range []string{"\n1 ", "\n2 "} {
		if !strings.Contains(history, rev) {
			t.Fatalf("rollout history lacks revision %q:\n%s", strings.TrimSpace(rev), history)
		}
	}
	if out := k("rollout", "undo", "statefulset/web"); !strings.Contains(out, "rolled back") {
		t.Fatalf("undo said %q", out)
	}
	k("rollout", "status", "statefulset/web", "--timeout=60s")
	imagesAre(t, pods(t, c, ns), "nginx:1.27")
	// The revision rolled back to is renumbered the newest.
	history = k("rollout", "history", "statefulset/web")
	if !strings.Contains(history, "\n2 ") || !strings.Contains(history, "\n3 ") || strings.Contains(history, "\n1 ") {
		t.Fatalf("history after undo:\n%s", history)
	}
	waitStatus(t, c, ns, "web", want{replicas: 3, ready: 3, current: 3, updated: 3, revs: true, rolledOut: true})
}
