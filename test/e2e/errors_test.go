package e2e

import (
	"strings"
	"testing"
)

// TestErrors checks that kubectl reports rejected requests the way it does
// against Kubernetes: exit code 1 and the server's message on stderr.
func TestErrors(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	c.mustKubectl(t, "create", "configmap", "exists")
	c.mustKubectl(t, "create", "deployment", "frozen", "--image=nginx:1.27")

	tests := []struct {
		name     string
		args     []string
		manifest string // if set, written to a file and passed as -f FILE
		// wantStderr are substrings of stderr; wantStdout is exact when set.
		wantStderr []string
	}{
		{
			name: "deployment selector does not match template labels",
			args: []string{"create"},
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: other
    spec:
      containers:
      - name: c
        image: nginx
`,
			wantStderr: []string{`The Deployment "x" is invalid:`, "spec.template.metadata.labels: Invalid value", "`selector` does not match template `labels`"},
		},
		{
			name: "apply of an invalid deployment",
			args: []string{"apply"},
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels:
      app: x
  template:
    metadata:
      labels:
        app: x
    spec:
      containers: []
`,
			wantStderr: []string{`The Deployment "x" is invalid:`, "spec.template.spec.containers: Required value"},
		},
		{
			name: "pod without image",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: Pod
metadata:
  name: noimage
spec:
  containers:
  - name: c
`,
			wantStderr: []string{`The Pod "noimage" is invalid:`, "spec.containers[0].image: Required value"},
		},
		{
			name:       "get a missing object",
			args:       []string{"get", "configmap", "nope"},
			wantStderr: []string{`Error from server (NotFound): configmaps "nope" not found`},
		},
		{
			name:       "get a missing object of a grouped resource",
			args:       []string{"get", "deployment", "nope"},
			wantStderr: []string{`Error from server (NotFound): deployments.apps "nope" not found`},
		},
		{
			name:       "delete a missing object",
			args:       []string{"delete", "configmap", "nope"},
			wantStderr: []string{`Error from server (NotFound): configmaps "nope" not found`},
		},
		{
			name:       "create an existing object",
			args:       []string{"create", "configmap", "exists"},
			wantStderr: []string{`error: failed to create configmap: configmaps "exists" already exists`},
		},
		{
			name: "create -f an existing object",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: exists
`,
			wantStderr: []string{`Error from server (AlreadyExists): error when creating`, `configmaps "exists" already exists`},
		},
		{
			name: "create in a missing namespace",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: lost
  namespace: ghost
`,
			wantStderr: []string{`Error from server (NotFound): error when creating`, `namespaces "ghost" not found`},
		},
		{
			name: "unknown top-level field",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: unknown
bogus: 1
`,
			wantStderr: []string{"Error from server (BadRequest): error when creating", `strict decoding error: unknown field "bogus"`},
		},
		{
			name: "unknown nested field on apply",
			args: []string{"apply"},
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  selector:
    matchLabels:
      app: typo
  template:
    metadata:
      labels:
        app: typo
    spec:
      containers:
      - name: c
        image: nginx
        imagePullPolcy: Always
`,
			wantStderr: []string{`strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolcy"`},
		},
		{
			name: "bad name",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: Bad_Name
`,
			wantStderr: []string{`The ConfigMap "Bad_Name" is invalid:`, `metadata.name: Invalid value: "Bad_Name"`, "RFC 1123"},
		},
		{
			name: "bad label value",
			args: []string{"create"},
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: badlabel
  labels:
    app: -nope-
`,
			wantStderr: []string{`The ConfigMap "badlabel" is invalid:`, `metadata.labels: Invalid value: "-nope-"`},
		},
		{
			name: "wrong apiVersion",
			args: []string{"create"},
			manifest: `apiVersion: apps/v1beta1
kind: Deployment
metadata:
  name: old
`,
			wantStderr: []string{`no matches for kind "Deployment" in version "apps/v1beta1"`},
		},
		{
			name: "unknown kind",
			args: []string{"apply"},
			manifest: `apiVersion: v1
kind: Widget
metadata:
  name: w
`,
			wantStderr: []string{`no matches for kind "Widget" in version "v1"`},
		},
		{
			name:       "malformed file",
			args:       []string{"create"},
			manifest:   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
			wantStderr: []string{"error: error parsing", "error converting YAML to JSON"},
		},
		{
			name:       "unknown resource type",
			args:       []string{"get", "widgets"},
			wantStderr: []string{`error: the server doesn't have a resource type "widgets"`},
		},
		{
			name:       "immutable selector",
			args:       []string{"patch", "deployment", "frozen", "--type=merge", "-p", `{"spec":{"selector":{"matchLabels":{"app":"z"}},"template":{"metadata":{"labels":{"app":"z"}}}}}`},
			wantStderr: []string{`The Deployment "frozen" is invalid:`, "spec.selector: Invalid value", "field is immutable"},
		},
		{
			name:       "unsupported field selector",
			args:       []string{"get", "configmaps", "--field-selector", "data.color=blue"},
			wantStderr: []string{"Error from server (BadRequest):", "field label not supported: data.color"},
		},
		{
			name:       "invalid JSON patch",
			args:       []string{"patch", "configmap", "exists", "--type=json", "-p", `{"op":"add"}`},
			wantStderr: []string{"Error from server (BadRequest):"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.manifest != "" {
				args = append(args[:len(args):len(args)], "-f", writeManifest(t, "object.yaml", tc.manifest))
			}
			stdout, stderr, err := c.kubectl(t, args...)
			if code := exitCode(err); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q", want)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}

	t.Run("replace with a stale resourceVersion conflicts", func(t *testing.T) {
		stale := c.mustKubectl(t, "get", "configmap", "exists", "-o", "yaml")
		c.mustKubectl(t, "annotate", "configmap", "exists", "bump=1")
		path := writeManifest(t, "stale.yaml", stale)
		_, stderr, err := c.kubectl(t, "replace", "-f", path)
		if code := exitCode(err); code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		want := `Error from server (Conflict): error when replacing "` + path + `": Operation cannot be fulfilled on configmaps "exists": the object has been modified; please apply your changes to the latest version and try again`
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	})

	t.Run("invalid objects were not stored", func(t *testing.T) {
		for _, obj := range []string{"deployment/x", "pod/noimage", "configmap/unknown", "deployment/typo", "configmap/badlabel"} {
			if _, _, err := c.kubectl(t, "get", obj); exitCode(err) != 1 {
				t.Errorf("kubectl get %s succeeded; the rejected object was stored", obj)
			}
		}
	})
}
