package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// webManifest is a Deployment and a ConfigMap in one file, as users keep them.
const webManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  color: blue
`

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	path := writeManifest(t, "web.yaml", webManifest)

	t.Run("create -f creates every object in the file", func(t *testing.T) {
		out := c.mustKubectl(t, "create", "-f", path)
		want := []string{"deployment.apps/web created", "configmap/web-config created"}
		if got := lines(out); !slices.Equal(got, want) {
			t.Fatalf("stdout = %q, want %q", got, want)
		}
	})

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, stdout string)
	}{
		{
			name:  "-o name",
			args:  []string{"get", "configmap", "web-config", "-o", "name"},
			check: wantStdout("configmap/web-config"),
		},
		{
			name:  "-o name over two kinds",
			args:  []string{"get", "deployments,configmaps", "-l", "app=web", "-o", "name"},
			check: wantStdout("deployment.apps/web"),
		},
		{
			name:  "-o jsonpath on a map value",
			args:  []string{"get", "cm", "web-config", "-o", "jsonpath={.data.color}"},
			check: wantStdout("blue"),
		},
		{
			name:  "-o jsonpath on a defaulted field",
			args:  []string{"get", "deploy", "web", "-o", "jsonpath={.spec.strategy.type} {.spec.template.spec.containers[0].imagePullPolicy}"},
			check: wantStdout("RollingUpdate IfNotPresent"),
		},
		{
			name:  "-o jsonpath range over a list",
			args:  []string{"get", "deploy", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{"\n"}{end}`},
			check: wantStdout("web=2"),
		},
		{
			name: "-o json",
			args: []string{"get", "cm", "web-config", "-o", "json"},
			check: func(t *testing.T, stdout string) {
				var cm corev1.ConfigMap
				if err := json.Unmarshal([]byte(stdout), &cm); err != nil {
					t.Fatalf("stdout is not a ConfigMap in JSON: %v\n%s", err, stdout)
				}
				if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name != "web-config" || cm.Namespace != "default" {
					t.Errorf("got %s %s %s/%s, want v1 ConfigMap default/web-config", cm.APIVersion, cm.Kind, cm.Namespace, cm.Name)
				}
				if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
					t.Errorf("server-set metadata missing: %+v", cm.ObjectMeta)
				}
				if cm.Data["color"] != "blue" {
					t.Errorf("data = %v, want color=blue", cm.Data)
				}
			},
		},
		{
			name: "-o yaml",
			args: []string{"get", "deployment", "web", "-o", "yaml"},
			check: func(t *testing.T, stdout string) {
				var d appsv1.Deployment
				if err := yaml.UnmarshalStrict([]byte(stdout), &d); err != nil {
					t.Fatalf("stdout is not a Deployment in YAML: %v\n%s", err, stdout)
				}
				if d.APIVersion != "apps/v1" || d.Kind != "Deployment" || d.Name != "web" {
					t.Errorf("got %s %s %s, want apps/v1 Deployment web", d.APIVersion, d.Kind, d.Name)
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
					t.Errorf("spec.replicas = %v, want 2", d.Spec.Replicas)
				}
				if got := d.Spec.Template.Spec.Containers; len(got) != 1 || got[0].Image != "nginx:1.27" {
					t.Errorf("containers = %+v, want one with image nginx:1.27", got)
				}
				if d.Generation != 1 {
					t.Errorf("metadata.generation = %d, want 1", d.Generation)
				}
			},
		},
		{
			name: "default table",
			args: []string{"get", "deployment", "web"},
			check: func(t *testing.T, stdout string) {
				ls := lines(stdout)
				if len(ls) != 2 {
					t.Fatalf("want a header and one row, got:\n%s", stdout)
				}
				if got := strings.Fields(ls[0]); !slices.Equal(got, []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}) {
					t.Errorf("header = %q", got)
				}
				if row := strings.Fields(ls[1]); row[0] != "web" || !strings.HasSuffix(row[1], "/2") {
					t.Errorf("row = %q, want web with READY n/2", row)
				}
			},
		},
		{
			name:  "delete -f deletes every object in the file",
			args:  []string{"delete", "-f", path},
			check: wantStdout(`deployment.apps "web" deleted`, `configmap "web-config" deleted`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, c.mustKubectl(t, tc.args...))
		})
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	manifest := func(replicas, data string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
      - name: shop
        image: nginx:1.27
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
` + data
	}

	// The steps run in order against the same objects.
	steps := []struct {
		name       string
		before     []string // kubectl args run first, e.g. someone else's change
		manifest   string
		wantStdout []string
		checks     []jsonpathCheck
	}{
		{
			name:       "first apply creates",
			manifest:   manifest("1", "  color: blue\n  size: small\n"),
			wantStdout: []string{"deployment.apps/shop created", "configmap/shop-config created"},
			checks: []jsonpathCheck{
				{"deploy/shop", "{.spec.replicas}", "1"},
				{"cm/shop-config", "{.data.color}", "blue"},
			},
		},
		{
			name:       "second apply with a change configures only the changed object",
			manifest:   manifest("3", "  color: blue\n  size: small\n"),
			wantStdout: []string{"deployment.apps/shop configured", "configmap/shop-config unchanged"},
			checks:     []jsonpathCheck{{"deploy/shop", "{.spec.replicas}", "3"}},
		},
		{
			name:       "third apply without a change is unchanged",
			manifest:   manifest("3", "  color: blue\n  size: small\n"),
			wantStdout: []string{"deployment.apps/shop unchanged", "configmap/shop-config unchanged"},
			checks:     []jsonpathCheck{{"deploy/shop", "{.spec.replicas}", "3"}},
		},
		{
			name:       "apply changes a value",
			manifest:   manifest("3", "  color: green\n  size: small\n"),
			wantStdout: []string{"deployment.apps/shop unchanged", "configmap/shop-config configured"},
			checks:     []jsonpathCheck{{"cm/shop-config", "{.data.color}", "green"}},
		},
		{
			name:       "apply removes a key dropped from the file and keeps others' labels",
			before:     []string{"label", "cm", "shop-config", "owner=ops"},
			manifest:   manifest("3", "  color: green\n"),
			wantStdout: []string{"deployment.apps/shop unchanged", "configmap/shop-config configured"},
			checks: []jsonpathCheck{
				{"cm/shop-config", "{.data}", `{"color":"green"}`},
				{"cm/shop-config", "{.metadata.labels.owner}", "ops"},
			},
		},
		{
			name:       "apply records the last applied configuration",
			manifest:   manifest("3", "  color: green\n"),
			wantStdout: []string{"deployment.apps/shop unchanged", "configmap/shop-config unchanged"},
			checks: []jsonpathCheck{
				{"cm/shop-config", `{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`,
					`{"apiVersion":"v1","data":{"color":"green"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"shop-config","namespace":"default"}}` + "\n"},
			},
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if step.before != nil {
				c.mustKubectl(t, step.before...)
			}
			path := writeManifest(t, "shop.yaml", step.manifest)
			out := c.mustKubectl(t, "apply", "-f", path)
			if got := lines(out); !slices.Equal(got, step.wantStdout) {
				t.Errorf("stdout = %q, want %q", got, step.wantStdout)
			}
			for _, chk := range step.checks {
				chk.run(t, c)
			}
		})
	}

	ssaManifest := func(color string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  color: " + color + "\n"
	}
	ssaSteps := []struct {
		name       string
		before     []string
		args       []string // after `apply -f FILE`
		manifest   string
		wantStdout string
		wantStderr string // substring, when the apply fails
		wantColor  string
	}{
		{
			name:       "server-side apply creates",
			args:       []string{"--server-side"},
			manifest:   ssaManifest("blue"),
			wantStdout: "configmap/ssa serverside-applied",
			wantColor:  "blue",
		},
		{
			name:       "server-side apply with a change",
			args:       []string{"--server-side"},
			manifest:   ssaManifest("green"),
			wantStdout: "configmap/ssa serverside-applied",
			wantColor:  "green",
		},
		{
			name:       "server-side apply conflicts with another manager's change",
			before:     []string{"patch", "cm", "ssa", "--type=merge", "-p", `{"data":{"color":"red"}}`},
			args:       []string{"--server-side"},
			manifest:   ssaManifest("blue"),
			wantStderr: `error: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.color`,
			wantColor:  "red",
		},
		{
			name:       "server-side apply --force-conflicts takes the field over",
			args:       []string{"--server-side", "--force-conflicts"},
			manifest:   ssaManifest("blue"),
			wantStdout: "configmap/ssa serverside-applied",
			wantColor:  "blue",
		},
	}
	for _, step := range ssaSteps {
		t.Run(step.name, func(t *testing.T) {
			if step.before != nil {
				c.mustKubectl(t, step.before...)
			}
			args := append([]string{"apply", "-f", writeManifest(t, "ssa.yaml", step.manifest)}, step.args...)
			stdout, stderr, err := c.kubectl(t, args...)
			wantExit := 0
			if step.wantStderr != "" {
				wantExit = 1
			}
			if code := exitCode(err); code != wantExit {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantExit, stdout, stderr)
			}
			if got := strings.TrimSpace(stdout); got != step.wantStdout {
				t.Errorf("stdout = %q, want %q", got, step.wantStdout)
			}
			if !strings.Contains(stderr, step.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, step.wantStderr)
			}
			jsonpathCheck{"cm/ssa", "{.data.color}", step.wantColor}.run(t, c)
		})
	}
}

// jsonpathCheck asserts `kubectl get <object> -o jsonpath=<expr>` prints want.
type jsonpathCheck struct {
	object string // e.g. "deploy/web"
	expr   string
	want   string
}

func (chk jsonpathCheck) run(t *testing.T, c *cluster) {
	t.Helper()
	if got := c.mustKubectl(t, "get", chk.object, "-o", "jsonpath="+chk.expr); got != chk.want {
		t.Errorf("%s %s = %q, want %q", chk.object, chk.expr, got, chk.want)
	}
}

// wantStdout checks that stdout is exactly the given lines.
func wantStdout(want ...string) func(t *testing.T, stdout string) {
	return func(t *testing.T, stdout string) {
		t.Helper()
		if got := lines(stdout); !slices.Equal(got, want) {
			t.Errorf("stdout = %q, want %q", got, want)
		}
	}
}
