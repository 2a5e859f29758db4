package e2e

import (
	"strings"
	"testing"
	"time"
)

const drainManifest = `apiVersion: v1
kind: Node
metadata:
  name: drain-node
  labels:
    kubernetes.io/hostname: drain-node
---
apiVersion: v1
kind: Namespace
metadata:
  name: drain
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: drain
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeName: drain-node
      containers:
      - name: main
        image: nginx:1.27
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes:
      - name: scratch
        emptyDir: {}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: drain
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
`

// TestDrain drains a node with kubectl: its Deployment pods are evicted
// through pods/eviction one at a time, as the PodDisruptionBudget allows.
// There is no node agent, so the test plays the node: it reports new pods
// Running and Ready and removes pods being deleted.
func TestDrain(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl(t, "apply", "-f", writeManifest(t, "drain.yaml", drainManifest))

	original := map[string]bool{}
	eventually(t, func() (bool, string) {
		pods := c.actAsNode(t)
		for _, p := range pods {
			original[p] = true
		}
		out := c.mustKubectl(t, "-n", "drain", "get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}")
		return len(pods) == 2 && out == "1", "ready pods " + strings.Join(pods, ",") + ", disruptionsAllowed " + out
	})

	done := c.kubectlAsync(t, "drain", "drain-node", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
	var res kubectlResult
	deadline := time.After(commandTimeout + 5*time.Second)
loop:
	for {
		select {
		case res = <-done:
			break loop
		case <-deadline:
			t.Fatalf("kubectl drain did not finish within %v", commandTimeout)
		case <-time.After(200 * time.Millisecond):
			c.actAsNode(t)
		}
	}
	if res.err != nil {
		t.Fatalf("kubectl drain: %v\nstdout:\n%s\nstderr:\n%s", res.err, res.stdout, res.stderr)
	}
	for p := range original {
		if !strings.Contains(res.stdout, "pod/"+p+" evicted") {
			t.Errorf("drain output does not report pod/%s evicted:\n%s", p, res.stdout)
		}
	}
	if !strings.Contains(res.stdout, "node/drain-node drained") {
		t.Errorf("drain output does not end with node/drain-node drained:\n%s", res.stdout)
	}
	if out := c.mustKubectl(t, "get", "node", "drain-node", "-o", "jsonpath={.spec.unschedulable}"); out != "true" {
		t.Errorf("node unschedulable = %q, want true", out)
	}
	left := c.mustKubectl(t, "-n", "drain", "get", "pods", "-o", "name")
	for p := range original {
		if strings.Contains(left, "pod/"+p+"\n") {
			t.Errorf("pod %s still exists after drain:\n%s", p, left)
		}
	}
}

// actAsNode does a kubelet's part for the pods of namespace drain: pods
// being deleted are removed, others are reported Running and Ready. It
// returns the names of the pods that were already ready.
func (c *cluster) actAsNode(t *testing.T) []string {
	t.Helper()
	out := c.mustKubectl(t, "-n", "drain", "get", "pods", "--no-headers",
		"-o", `custom-columns=NAME:.metadata.name,DELETING:.metadata.deletionTimestamp,READY:.status.conditions[?(@.type=="Ready")].status`)
	var ready []string
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		name, deleting, isReady := f[0], f[1] != "<none>", f[2] == "True"
		switch {
		case deleting:
			_, _, _ = c.kubectl(t, "-n", "drain", "delete", "pod", name, "--grace-period=0", "--force", "--wait=false")
		case isReady:
			ready = append(ready, name)
		default:
			_, _, _ = c.kubectl(t, "-n", "drain", "patch", "pod", name, "--subresource=status", "--type=merge", "-p",
				`{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}`)
		}
	}
	return ready
}
