package daemonset_test

import (
	"strings"
	"testing"

	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/testutil/kubectl"
	"github.com/skiffhq/skiff/test/nodesim"
)

const agentManifest = `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: main
        image: fluentd:1
`

// TestKubectlRollout drives a DaemonSet with kubectl: rollout status
// returns once every node runs an available updated pod, and history and
// undo work on the ControllerRevisions.
func TestKubectlRollout(t *testing.T) {
	env := start(t, manager.Options{})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 3, Prefix: "k", StartDelay: slowStart})
	ns := env.Namespace("ds-kubectl")
	kc := kubectl.New(t, env.Server.KubeconfigPath, ns)
	k := kc.Must

	kc.MustIn(agentManifest, "apply", "-f", "-")
	if out := k("rollout", "status", "daemonset/agent", "--timeout=60s"); !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Fatalf("rollout status said %q", out)
	}
	imagesAre(t, livePods(t, c, ns), "fluentd:1", 3)
	k("set", "image", "daemonset/agent", "main=fluentd:2")
	k("rollout", "status", "daemonset/agent", "--timeout=60s")
	// Finished means every node runs an available pod of the new template.
	imagesAre(t, livePods(t, c, ns), "fluentd:2", 3)

	history := k("rollout", "history", "daemonset/agent")
	for _, rev := range []string{"\n1 ", "\n2 "} {
		if !strings.Contains(history, rev) {
			t.Fatalf("rollout history lacks revision %q:\n%s", strings.TrimSpace(rev), history)
		}
	}
	if out := k("rollout", "undo", "daemonset/agent"); !strings.Contains(out, "rolled back") {
		t.Fatalf("undo said %q", out)
	}
	k("rollout", "status", "daemonset/agent", "--timeout=60s")
	imagesAre(t, livePods(t, c, ns), "fluentd:1", 3)
	waitStatus(t, c, ns, "agent", all(3))
}
