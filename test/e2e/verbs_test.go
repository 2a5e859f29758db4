package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestChangeVerbs drives label, annotate, patch (all three types), scale and
// delete, one step after the other, on a ConfigMap "cfg" and a Deployment "web".
func TestChangeVerbs(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "configmap", "cfg", "--from-literal=k=v")
	c.mustKubectl(t, "create", "-f", writeManifest(t, "web.yaml", webManifest))

	steps := []struct {
		name       string
		args       []string
		wantStdout string // exact, trailing newline trimmed
		wantExit   int
		wantStderr string // substring
		check      *jsonpathCheck
	}{
		// label
		{
			name:       "label adds a label",
			args:       []string{"label", "cm", "cfg", "tier=front"},
			wantStdout: "configmap/cfg labeled",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.labels.tier}", "front"},
		},
		{
			name:       "label refuses to overwrite without --overwrite",
			args:       []string{"label", "cm", "cfg", "tier=back"},
			wantExit:   1,
			wantStderr: "error: 'tier' already has a value (front), and --overwrite is false",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.labels.tier}", "front"},
		},
		{
			name:       "label --overwrite changes a label",
			args:       []string{"label", "cm", "cfg", "tier=back", "--overwrite"},
			wantStdout: "configmap/cfg labeled",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.labels.tier}", "back"},
		},
		{
			name:       "label selects objects by label",
			args:       []string{"get", "cm", "-l", "tier=back", "-o", "name"},
			wantStdout: "configmap/cfg",
		},
		{
			name:       "label key- removes a label",
			args:       []string{"label", "cm", "cfg", "tier-"},
			wantStdout: "configmap/cfg unlabeled",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.labels}", ""},
		},
		// annotate
		{
			name:       "annotate adds an annotation",
			args:       []string{"annotate", "cm", "cfg", "owner=team-a"},
			wantStdout: "configmap/cfg annotated",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.annotations.owner}", "team-a"},
		},
		{
			name:       "annotate --overwrite changes an annotation",
			args:       []string{"annotate", "cm", "cfg", "owner=team-b", "--overwrite"},
			wantStdout: "configmap/cfg annotated",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.annotations.owner}", "team-b"},
		},
		{
			name:       "annotate key- removes an annotation",
			args:       []string{"annotate", "cm", "cfg", "owner-"},
			wantStdout: "configmap/cfg annotated",
			check:      &jsonpathCheck{"cm/cfg", "{.metadata.annotations}", ""},
		},
		// patch
		{
			name:       "patch --type=merge adds a key",
			args:       []string{"patch", "cm", "cfg", "--type=merge", "-p", `{"data":{"m":"1"}}`},
			wantStdout: "configmap/cfg patched",
			check:      &jsonpathCheck{"cm/cfg", "{.data}", `{"k":"v","m":"1"}`},
		},
		{
			name:       "patch --type=merge with null removes a key",
			args:       []string{"patch", "cm", "cfg", "--type=merge", "-p", `{"data":{"m":null}}`},
			wantStdout: "configmap/cfg patched",
			check:      &jsonpathCheck{"cm/cfg", "{.data}", `{"k":"v"}`},
		},
		{
			name:       "patch --type=json adds and replaces",
			args:       []string{"patch", "cm", "cfg", "--type=json", "-p", `[{"op":"add","path":"/data/j","value":"2"},{"op":"replace","path":"/data/k","value":"w"}]`},
			wantStdout: "configmap/cfg patched",
			check:      &jsonpathCheck{"cm/cfg", "{.data}", `{"j":"2","k":"w"}`},
		},
		{
			name:       "patch --type=json removes",
			args:       []string{"patch", "cm", "cfg", "--type=json", "-p", `[{"op":"remove","path":"/data/j"}]`},
			wantStdout: "configmap/cfg patched",
			check:      &jsonpathCheck{"cm/cfg", "{.data}", `{"k":"w"}`},
		},
		{
			name:       "patch that changes nothing says so",
			args:       []string{"patch", "cm", "cfg", "--type=merge", "-p", `{"data":{"k":"w"}}`},
			wantStdout: "configmap/cfg patched (no change)",
		},
		{
			// Like Kubernetes, a new list element from a patch goes first.
			name:       "strategic patch (default) merges containers by name",
			args:       []string{"patch", "deploy", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}`},
			wantStdout: "deployment.apps/web patched",
			check:      &jsonpathCheck{"deploy/web", "{.spec.template.spec.containers[*].name}", "sidecar web"},
		},
		{
			name:       "strategic patch updates the container with the same name",
			args:       []string{"patch", "deploy", "web", "--type=strategic", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}`},
			wantStdout: "deployment.apps/web patched",
			check:      &jsonpathCheck{"deploy/web", "{.spec.template.spec.containers[*].image}", "busybox:1.36 nginx:1.28"},
		},
		{
			name:       "strategic patch $patch: delete removes a container",
			args:       []string{"patch", "deploy", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`},
			wantStdout: "deployment.apps/web patched",
			check:      &jsonpathCheck{"deploy/web", "{.spec.template.spec.containers[*].name}", "web"},
		},
		{
			name:       "merge patch replaces the containers list",
			args:       []string{"patch", "deploy", "web", "--type=merge", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.29"}]}}}}`},
			wantStdout: "deployment.apps/web patched",
			check:      &jsonpathCheck{"deploy/web", "{.spec.template.spec.containers[*].name}", "app"},
		},
		{
			name:       "patch bumps the deployment's generation",
			args:       []string{"get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"},
			wantStdout: "5",
		},
		// scale
		{
			name:       "scale deployment",
			args:       []string{"scale", "deployment", "web", "--replicas=3"},
			wantStdout: "deployment.apps/web scaled",
			check:      &jsonpathCheck{"deploy/web", "{.spec.replicas}", "3"},
		},
		{
			name:       "scale with a stale --current-replicas is refused",
			args:       []string{"scale", "deployment", "web", "--current-replicas=7", "--replicas=4"},
			wantExit:   1,
			wantStderr: "error: Expected replicas to be 7, was 3",
			check:      &jsonpathCheck{"deploy/web", "{.spec.replicas}", "3"},
		},
		{
			name:       "scale with the right --current-replicas",
			args:       []string{"scale", "deploy/web", "--current-replicas=3", "--replicas=0"},
			wantStdout: "deployment.apps/web scaled",
			check:      &jsonpathCheck{"deploy/web", "{.spec.replicas}", "0"},
		},
		// delete
		{
			name:       "delete configmap",
			args:       []string{"delete", "configmap", "cfg"},
			wantStdout: `configmap "cfg" deleted`,
		},
		{
			name:       "get after delete is NotFound",
			args:       []string{"get", "configmap", "cfg"},
			wantExit:   1,
			wantStderr: `Error from server (NotFound): configmaps "cfg" not found`,
		},
		{
			name:       "delete --ignore-not-found of a missing object",
			args:       []string{"delete", "configmap", "cfg", "--ignore-not-found"},
			wantStdout: "",
		},
		{
			name:       "delete deployment",
			args:       []string{"delete", "deploy/web"},
			wantStdout: `deployment.apps "web" deleted`,
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			stdout, stderr, err := c.kubectl(t, step.args...)
			if code := exitCode(err); code != step.wantExit {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, step.wantExit, stdout, stderr)
			}
			if step.wantExit == 0 && strings.TrimRight(stdout, "\n") != step.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, step.wantStdout)
			}
			if !strings.Contains(stderr, step.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, step.wantStderr)
			}
			if step.check != nil {
				step.check.run(t, c)
			}
		})
	}
}

// TestWatch starts `kubectl get -w` in the background, makes a change with
// another kubectl and waits for the watch to print it.
func TestWatch(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "namespace", "watched")

	tests := []struct {
		name      string
		setup     [][]string
		watch     []string
		wantFirst string // regexp of a line printed before the change
		change    []string
		wantLine  string // regexp of a line printed because of the change
	}{
		{
			name:      "table row is reprinted with the new DATA count",
			setup:     [][]string{{"create", "cm", "w1", "--from-literal=a=1"}},
			watch:     []string{"get", "cm", "w1", "-w"},
			wantFirst: `^w1\s+1\s+\S+$`,
			change:    []string{"patch", "cm", "w1", "--type=merge", "-p", `{"data":{"b":"2"}}`},
			wantLine:  `^w1\s+2\s+\S+$`,
		},
		{
			name:      "--output-watch-events shows MODIFIED",
			setup:     [][]string{{"create", "cm", "w2"}},
			watch:     []string{"get", "cm", "w2", "-w", "--output-watch-events"},
			wantFirst: `^ADDED\s+w2\s`,
			change:    []string{"label", "cm", "w2", "seen=yes"},
			wantLine:  `^MODIFIED\s+w2\s`,
		},
		{
			name:      "-o jsonpath prints the changed value",
			setup:     [][]string{{"create", "cm", "w3", "--from-literal=a=before"}},
			watch:     []string{"get", "cm", "w3", "-w", "-o", `jsonpath={.data.a}{"\n"}`},
			wantFirst: `^before$`,
			change:    []string{"patch", "cm", "w3", "--type=merge", "-p", `{"data":{"a":"after"}}`},
			wantLine:  `^after$`,
		},
		{
			name:      "watching a namespace sees a new object",
			setup:     [][]string{{"create", "cm", "first", "-n", "watched"}},
			watch:     []string{"get", "cm", "-n", "watched", "-w", "-o", "name"},
			wantFirst: `^configmap/first$`,
			change:    []string{"create", "cm", "second", "-n", "watched"},
			wantLine:  `^configmap/second$`,
		},
		{
			name:      "deletion shows DELETED",
			setup:     [][]string{{"create", "cm", "w4"}},
			watch:     []string{"get", "cm", "w4", "-w", "--output-watch-events"},
			wantFirst: `^ADDED\s+w4\s`,
			change:    []string{"delete", "cm", "w4"},
			wantLine:  `^DELETED\s+w4\s`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range tc.setup {
				c.mustKubectl(t, args...)
			}
			w := c.kubectlBackground(t, tc.watch...)
			w.waitForLine(t, mustCompile(t, tc.wantFirst))
			c.mustKubectl(t, tc.change...)
			w.waitForLine(t, mustCompile(t, tc.wantLine))
		})
	}

	t.Run("--watch-only prints changes but not the current state", func(t *testing.T) {
		c.mustKubectl(t, "create", "cm", "w5")
		w := c.kubectlBackground(t, "get", "cm", "w5", "--watch-only", "--output-watch-events")
		// Nothing shows when kubectl's watch is open, so change the object
		// until the watch reports a change.
		modified := mustCompile(t, `^MODIFIED\s+w5\s`)
		n := 0
		eventually(t, func() (bool, string) {
			n++
			c.mustKubectl(t, "annotate", "cm", "w5", fmt.Sprintf("try=%d", n), "--overwrite")
			return slices.ContainsFunc(lines(w.out.String()), modified.MatchString), "no MODIFIED line; output so far:\n" + w.out.String()
		})
		if out := w.out.String(); strings.Contains(out, "ADDED") {
			t.Errorf("--watch-only printed the current state:\n%s", out)
		}
	})
}

func mustCompile(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatalf("bad regexp %q: %v", expr, err)
	}
	return re
}
