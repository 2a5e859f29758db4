package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// kubectlResult is what one kubectl run printed and how it exited.
type kubectlResult struct {
	stdout, stderr string
	err            error
}

// kubectlEnv runs kubectl with extra environment variables (KEY=value).
func (c *cluster) kubectlEnv(t *testing.T, env []string, args ...string) kubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("%s kubectl %s (exit %d)", strings.Join(env, " "), strings.Join(args, " "), exitCode(err))
	return kubectlResult{out.String(), errOut.String(), err}
}

// kubectlAsync starts kubectl and delivers its result on the returned
// channel, for commands that block until something else happens (wait).
func (c *cluster) kubectlAsync(t *testing.T, args ...string) <-chan kubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := c.command(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("kubectl %s (started)", strings.Join(args, " "))
	done := make(chan kubectlResult, 1)
	go func() {
		defer cancel()
		err := cmd.Wait()
		done <- kubectlResult{out.String(), errOut.String(), err}
	}()
	t.Cleanup(cancel)
	return done
}

// receive waits for an async kubectl to finish.
func receive(t *testing.T, done <-chan kubectlResult) kubectlResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(commandTimeout + 5*time.Second):
		t.Fatalf("kubectl did not finish within %v", commandTimeout)
	}
	return kubectlResult{}
}

// uidOf returns the uid of an object.
func (c *cluster) uidOf(t *testing.T, object string) string {
	t.Helper()
	return c.mustKubectl(t, "get", object, "-o", "jsonpath={.metadata.uid}")
}

// eventManifest is a core/v1 Event about an object, as a controller or the
// node agent would record it.
func eventManifest(name, namespace, kind, apiVersion, object, uid, typ, reason, component, message string) string {
	ts := time.Now().Add(-20 * time.Second).UTC().Format(time.RFC3339)
	return fmt.Sprintf(`apiVersion: v1
kind: Event
metadata: {name: %s, namespace: %s}
involvedObject: {apiVersion: %s, kind: %s, name: %s, namespace: %q, uid: %q}
type: %s
reason: %s
message: %q
source: {component: %s}
firstTimestamp: %q
lastTimestamp: %q
count: 1
`, name, namespace, apiVersion, kind, object, objectNamespace(kind, namespace), uid, typ, reason, message, component, ts, ts)
}

// objectNamespace is the namespace an event's involvedObject names:
// none for a node.
func objectNamespace(kind, namespace string) string {
	if kind == "Node" {
		return ""
	}
	return namespace
}

// TestDescribeShowsEvents: kubectl describe lists the events recorded about
// a pod, a deployment, a node and a service (found by kind, name, namespace
// and uid), and not those about other objects.
func TestDescribeShowsEvents(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "run", "web", "--image=nginx:1.27")
	c.mustKubectl(t, "create", "deployment", "shop", "--image=nginx:1.27")
	c.mustKubectl(t, "create", "service", "clusterip", "shop", "--tcp=80:80")
	c.mustKubectl(t, "create", "-f", writeManifest(t, "node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n"))
	c.mustKubectl(t, "run", "other", "--image=nginx:1.27")

	tests := []struct {
		name      string
		object    string // kind/name for describe and the uid lookup
		kind      string
		version   string
		typ       string
		reason    string
		component string
		message   string
	}{
		{"pod", "pod/web", "Pod", "v1", "Normal", "Scheduled", "default-scheduler", "Successfully assigned default/web to n1"},
		{"deployment", "deployment/shop", "Deployment", "apps/v1", "Normal", "ScalingReplicaSet", "deployment-controller", "Scaled up replica set shop-7d4b to 1"},
		{"node", "node/n1", "Node", "v1", "Warning", "NodeNotReady", "node-controller", "Node n1 status is now: NodeNotReady"},
		{"service", "service/shop", "Service", "v1", "Warning", "FailedToUpdateEndpoint", "endpoint-controller", "Failed to update endpoint default/shop"},
	}
	for i, tc := range tests {
		name := strings.Split(tc.object, "/")[1]
		ev := eventManifest(fmt.Sprintf("%s.%d", name, i), "default", tc.kind, tc.version, name, c.uidOf(t, tc.object),
			tc.typ, tc.reason, tc.component, tc.message)
		c.mustKubectl(t, "create", "-f", writeManifest(t, "event.yaml", ev))
	}
	// An event about another pod must not show up in web's description.
	c.mustKubectl(t, "create", "-f", writeManifest(t, "other.yaml", eventManifest("other.1", "default", "Pod", "v1", "other",
		c.uidOf(t, "pod/other"), "Warning", "BackOff", "kubelet", "Back-off restarting failed container")))

	header := regexp.MustCompile(`(?m)^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n\s+----\s+------\s+----\s+----\s+-------\n`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := c.mustKubectl(t, "describe", tc.object)
			if !header.MatchString(out) {
				t.Fatalf("describe %s has no Events table:\n%s", tc.object, out)
			}
			row := regexp.MustCompile(`(?m)^\s+` + tc.typ + `\s+` + tc.reason + `\s+\d+s\s+` + regexp.QuoteMeta(tc.component) + `\s+` + regexp.QuoteMeta(tc.message) + `$`)
			if !row.MatchString(out) {
				t.Errorf("describe %s lacks the event row %s:\n%s", tc.object, row, out)
			}
			if strings.Contains(out, "Back-off restarting failed container") {
				t.Errorf("describe %s shows another object's event:\n%s", tc.object, out)
			}
		})
	}

	t.Run("events.k8s.io event shows in describe", func(t *testing.T) {
		ev := fmt.Sprintf(`apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: web.new}
eventTime: %q
reportingController: skiff.dev/agent
reportingInstance: n1
action: Pulling
reason: Pulling
regarding: {apiVersion: v1, kind: Pod, name: web, namespace: default, uid: %q}
note: Pulling image "nginx:1.27"
type: Normal
`, time.Now().Add(-5*time.Second).UTC().Format("2006-01-02T15:04:05.000000Z"), c.uidOf(t, "pod/web"))
		c.mustKubectl(t, "create", "-f", writeManifest(t, "new-event.yaml", ev))
		out := c.mustKubectl(t, "describe", "pod", "web")
		if !regexp.MustCompile(`(?m)^\s+Normal\s+Pulling\s+\d+s\s+skiff\.dev/agent\s+Pulling image "nginx:1\.27"$`).MatchString(out) {
			t.Errorf("describe pod web lacks the events.k8s.io event:\n%s", out)
		}
	})
}

// TestEditWaitDiff covers explain, edit, wait and diff.
func TestEditWaitDiff(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	t.Run("explain --recursive shows field docs and nested fields", func(t *testing.T) {
		out := c.mustKubectl(t, "explain", "pod.spec.containers", "--recursive")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^FIELD:\s+containers <\[\]Container>$`),
			regexp.MustCompile(`(?m)^DESCRIPTION:\n\s+List of containers belonging to the pod\.`),
			regexp.MustCompile(`(?m)^  livenessProbe\t<Probe>\n    exec\t<ExecAction>\n      command\t<\[\]string>$`),
			regexp.MustCompile(`(?m)^  name\t<string> -required-$`),
		} {
			if !want.MatchString(out) {
				t.Errorf("explain output does not match %s:\n%s", want, out)
			}
		}
	})

	t.Run("edit with an editor script changes a label", func(t *testing.T) {
		c.mustKubectl(t, "create", "configmap", "ed", "--from-literal=a=1")
		c.mustKubectl(t, "label", "configmap", "ed", "tier=front")
		editor := filepath.Join(t.TempDir(), "editor.sh")
		script := "#!/bin/sh\nsed -i 's/tier: front/tier: back/' \"$1\"\n"
		if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		r := c.kubectlEnv(t, []string{"KUBE_EDITOR=" + editor}, "edit", "configmap", "ed")
		if r.err != nil || strings.TrimSpace(r.stdout) != "configmap/ed edited" {
			t.Fatalf("edit: exit %d, stdout %q, stderr %q; want configmap/ed edited", exitCode(r.err), r.stdout, r.stderr)
		}
		jsonpathCheck{"cm/ed", "{.metadata.labels.tier}", "back"}.run(t, c)
		// Nothing left to change: kubectl says so and changes nothing.
		r = c.kubectlEnv(t, []string{"KUBE_EDITOR=" + editor}, "edit", "configmap", "ed")
		if r.err != nil || !strings.Contains(r.stderr, "Edit cancelled, no changes made.") {
			t.Errorf("second edit: exit %d, stderr %q; want Edit cancelled, no changes made.", exitCode(r.err), r.stderr)
		}
	})

	t.Run("wait --for=condition set through the status subresource", func(t *testing.T) {
		c.mustKubectl(t, "run", "waiter", "--image=nginx:1.27")
		done := c.kubectlAsync(t, "wait", "--for=condition=Ready", "pod/waiter", "--timeout=45s")
		c.mustKubectl(t, "patch", "pod", "waiter", "--subresource=status", "--type=merge", "-p",
			`{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
		if r := receive(t, done); r.err != nil || strings.TrimSpace(r.stdout) != "pod/waiter condition met" {
			t.Errorf("wait: exit %d, stdout %q, stderr %q", exitCode(r.err), r.stdout, r.stderr)
		}
	})

	t.Run("wait --for=condition times out when the condition is false", func(t *testing.T) {
		r := c.kubectlEnv(t, nil, "wait", "--for=condition=Ready=false", "pod/waiter", "--timeout=1s")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "timed out waiting for the condition on pods/waiter") {
			t.Errorf("wait: exit %d, stderr %q; want exit 1 and a timeout", exitCode(r.err), r.stderr)
		}
	})

	t.Run("wait --for=jsonpath", func(t *testing.T) {
		c.mustKubectl(t, "create", "configmap", "jp", "--from-literal=phase=starting")
		done := c.kubectlAsync(t, "wait", "--for=jsonpath={.data.phase}=ready", "configmap/jp", "--timeout=45s")
		c.mustKubectl(t, "patch", "configmap", "jp", "--type=merge", "-p", `{"data":{"phase":"ready"}}`)
		if r := receive(t, done); r.err != nil || strings.TrimSpace(r.stdout) != "configmap/jp condition met" {
			t.Errorf("wait: exit %d, stdout %q, stderr %q", exitCode(r.err), r.stdout, r.stderr)
		}
	})

	t.Run("wait --for=delete", func(t *testing.T) {
		c.mustKubectl(t, "create", "configmap", "gone")
		// Delete only once kubectl watches: an object already gone when
		// kubectl looks counts as deleted without a word.
		w := c.kubectlBackground(t, "wait", "--for=delete", "configmap/gone", "--timeout=45s", "-v=6")
		w.waitForLine(t, mustCompile(t, `GET https://\S+/api/v1/namespaces/default/configmaps\?\S*watch=true\S* 200 OK`))
		c.mustKubectl(t, "delete", "configmap", "gone")
		w.waitForLine(t, mustCompile(t, `^configmap/gone condition met$`))
	})

	t.Run("diff", func(t *testing.T) {
		manifest := func(color string) string {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: diffed\ndata:\n  color: " + color + "\n"
		}
		c.mustKubectl(t, "apply", "-f", writeManifest(t, "diffed.yaml", manifest("blue")))

		r := c.kubectlEnv(t, nil, "diff", "-f", writeManifest(t, "diffed.yaml", manifest("blue")))
		if r.err != nil || r.stdout != "" {
			t.Errorf("diff of the live state: exit %d, stdout %q, stderr %q; want exit 0 and no output", exitCode(r.err), r.stdout, r.stderr)
		}
		for _, args := range [][]string{nil, {"--server-side"}} {
			r = c.kubectlEnv(t, nil, append([]string{"diff", "-f", writeManifest(t, "diffed.yaml", manifest("green"))}, args...)...)
			if exitCode(r.err) != 1 {
				t.Errorf("diff %q of a change: exit %d, want 1; stderr %q", args, exitCode(r.err), r.stderr)
			}
			if !strings.Contains(r.stdout, "-  color: blue\n+  color: green\n") {
				t.Errorf("diff %q of a change lacks the change:\n%s", args, r.stdout)
			}
		}
		// diff only dry-runs.
		jsonpathCheck{"cm/diffed", "{.data.color}", "blue"}.run(t, c)
	})
}

// TestApplyModes covers apply --prune with a selector, apply -k and
// server-side apply by two field managers.
func TestApplyModes(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	t.Run("apply --prune -l removes what the files no longer hold", func(t *testing.T) {
		cm := func(name string) string {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  labels: {set: pruned}\ndata: {k: v}\n"
		}
		c.mustKubectl(t, "create", "configmap", "bystander") // not selected: must survive
		out := c.mustKubectl(t, "apply", "-l", "set=pruned", "--prune", "-f", writeManifest(t, "two.yaml", cm("keep")+"---\n"+cm("drop")))
		if got, want := lines(out), []string{"configmap/keep created", "configmap/drop created"}; !slices.Equal(got, want) {
			t.Errorf("first apply: stdout %q, want %q", got, want)
		}
		out = c.mustKubectl(t, "apply", "-l", "set=pruned", "--prune", "-f", writeManifest(t, "one.yaml", cm("keep")))
		if got, want := lines(out), []string{"configmap/keep unchanged", "configmap/drop pruned"}; !slices.Equal(got, want) {
			t.Errorf("pruning apply: stdout %q, want %q", got, want)
		}
		if got, want := lines(c.mustKubectl(t, "get", "cm", "-l", "set=pruned", "-o", "name")), []string{"configmap/keep"}; !slices.Equal(got, want) {
			t.Errorf("after prune: %q, want %q", got, want)
		}
		c.mustKubectl(t, "get", "configmap", "bystander")
	})

	t.Run("apply -k builds and applies a kustomization", func(t *testing.T) {
		dir := t.TempDir()
		files := map[string]string{
			"kustomization.yaml": "namePrefix: kz-\nlabels:\n- pairs: {app: kz}\nconfigMapGenerator:\n- name: settings\n  literals: [color=blue]\nresources:\n- deploy.yaml\n",
			"deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n" +
				"  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out := c.mustKubectl(t, "apply", "-k", dir)
		re := regexp.MustCompile(`^configmap/kz-settings-[a-z0-9]{10} created\ndeployment\.apps/kz-web created\n$`)
		if !re.MatchString(out) {
			t.Errorf("apply -k stdout = %q, want it to match %s", out, re)
		}
		jsonpathCheck{"deploy/kz-web", "{.metadata.labels.app}", "kz"}.run(t, c)
		if out := c.mustKubectl(t, "apply", "-k", dir); !strings.Contains(out, "deployment.apps/kz-web unchanged") {
			t.Errorf("second apply -k stdout = %q, want kz-web unchanged", out)
		}
	})

	t.Run("server-side apply by two field managers", func(t *testing.T) {
		manifest := func(data string) string {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n" + data
		}
		apply := func(manager, data string, extra ...string) kubectlResult {
			args := append([]string{"apply", "--server-side", "--field-manager=" + manager, "-f", writeManifest(t, manager+".yaml", manifest(data))}, extra...)
			return c.kubectlEnv(t, nil, args...)
		}
		if r := apply("alice", "  color: blue\n  owner: alice\n"); r.err != nil || strings.TrimSpace(r.stdout) != "configmap/shared serverside-applied" {
			t.Fatalf("alice's apply: exit %d, stdout %q, stderr %q", exitCode(r.err), r.stdout, r.stderr)
		}
		// Bob sets a field of his own and one alice owns.
		r := apply("bob", "  color: red\n  size: big\n")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, `error: Apply failed with 1 conflict: conflict with "alice": .data.color`) {
			t.Fatalf("bob's conflicting apply: exit %d, stderr %q; want exit 1 and a conflict with alice on .data.color", exitCode(r.err), r.stderr)
		}
		jsonpathCheck{"cm/shared", "{.data}", `{"color":"blue","owner":"alice"}`}.run(t, c)
		// Applying the same value co-owns the field without a conflict.
		if r := apply("bob", "  color: blue\n  size: big\n"); r.err != nil {
			t.Fatalf("bob's agreeing apply: exit %d, stderr %q", exitCode(r.err), r.stderr)
		}
		if r := apply("bob", "  color: red\n  size: big\n", "--force-conflicts"); r.err != nil {
			t.Fatalf("bob's forced apply: exit %d, stderr %q", exitCode(r.err), r.stderr)
		}
		jsonpathCheck{"cm/shared", "{.data}", `{"color":"red","owner":"alice","size":"big"}`}.run(t, c)
		owners := c.mustKubectl(t, "get", "cm", "shared", "-o", `jsonpath={range .metadata.managedFields[*]}{.manager} {.operation} {.fieldsV1}{"\n"}{end}`)
		for _, want := range []string{
			`alice Apply {"f:data":{"f:owner":{}}}`,
			`bob Apply {"f:data":{"f:color":{},"f:size":{}}}`,
		} {
			if !slices.Contains(lines(owners), want) {
				t.Errorf("managedFields lack %q:\n%s", want, owners)
			}
		}
		// Alice's next apply of her old value conflicts with bob now.
		if r := apply("alice", "  color: blue\n  owner: alice\n"); exitCode(r.err) != 1 || !strings.Contains(r.stderr, `conflict with "bob": .data.color`) {
			t.Errorf("alice's apply after the takeover: exit %d, stderr %q; want a conflict with bob", exitCode(r.err), r.stderr)
		}
	})
}

// TestClusterAccessVerbs covers the verbs users run to find their way
// around: top (no metrics yet), auth can-i/whoami, config view, cluster-info.
func TestClusterAccessVerbs(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	server := strings.TrimSpace(c.mustKubectl(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))

	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout *regexp.Regexp
		wantStderr string // substring
	}{
		{name: "top pod without a metrics API", args: []string{"top", "pod"}, wantExit: 1, wantStdout: regexp.MustCompile(`^$`),
			wantStderr: "error: Metrics API not available"},
		{name: "top node without a metrics API", args: []string{"top", "node"}, wantExit: 1, wantStdout: regexp.MustCompile(`^$`),
			wantStderr: "error: Metrics API not available"},
		{name: "auth can-i create pods", args: []string{"auth", "can-i", "create", "pods"}, wantStdout: regexp.MustCompile(`^yes\n$`)},
		{name: "auth can-i in another namespace", args: []string{"auth", "can-i", "delete", "deployments.apps", "-n", "kube-system"},
			wantStdout: regexp.MustCompile(`^yes\n$`)},
		{name: "auth whoami", args: []string{"auth", "whoami"},
			wantStdout: regexp.MustCompile(`^ATTRIBUTE\s+VALUE\nUsername\s+\S+\nGroups\s+\[.*system:authenticated.*\]\n`)},
		{name: "config view --minify", args: []string{"config", "view", "--minify"},
			wantStdout: regexp.MustCompile(`(?s)^apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: DATA\+OMITTED\n    server: ` +
				regexp.QuoteMeta(server) + `\n  name: \S+\ncontexts:\n- context:\n.*current-context: \S+\nkind: Config\n.*client-key-data: DATA\+OMITTED\n$`)},
		{name: "cluster-info", args: []string{"cluster-info"},
			wantStdout: regexp.MustCompile(`^Kubernetes control plane is running at ` + regexp.QuoteMeta(server) + `\n`)},
	}
	if !strings.HasPrefix(server, "https://127.0.0.1:") {
		t.Fatalf("config view --minify server = %q, want https://127.0.0.1:PORT", server)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.kubectlEnv(t, nil, tc.args...)
			if code := exitCode(r.err); code != tc.wantExit {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantExit, r.stdout, r.stderr)
			}
			if !tc.wantStdout.MatchString(r.stdout) {
				t.Errorf("stdout = %q, want it to match %s", r.stdout, tc.wantStdout)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.wantStderr)
			}
		})
	}
}
