package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWorkloadsAndLists covers imperative creation and the ways users narrow
// and order lists: label and field selectors, --sort-by, delete -l.
func TestWorkloadsAndLists(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	// Runs before anything is created in default: no pods there yet.
	t.Run("get pods on an empty namespace", func(t *testing.T) {
		stdout, stderr, err := c.kubectl(t, "get", "pods")
		if err != nil {
			t.Fatalf("kubectl get pods: %v\n%s", err, stderr)
		}
		if stdout != "" {
			t.Errorf("stdout = %q, want nothing", stdout)
		}
		if want := "No resources found in default namespace.\n"; stderr != want {
			t.Errorf("stderr = %q, want %q", stderr, want)
		}
	})

	t.Run("create deployment", func(t *testing.T) {
		out := c.mustKubectl(t, "create", "deployment", "hello", "--image=nginx:1.27", "--replicas=2")
		if got := strings.TrimSpace(out); got != "deployment.apps/hello created" {
			t.Errorf("stdout = %q, want deployment.apps/hello created", got)
		}
		jsonpathCheck{"deploy/hello", "{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].name}", "2 hello nginx"}.run(t, c)
	})

	t.Run("get deploy -o wide", func(t *testing.T) {
		ls := lines(c.mustKubectl(t, "get", "deploy", "-o", "wide"))
		if len(ls) != 2 {
			t.Fatalf("want a header and one row, got %q", ls)
		}
		wantHeader := []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}
		if got := strings.Fields(ls[0]); !slices.Equal(got, wantHeader) {
			t.Errorf("header = %q, want %q", got, wantHeader)
		}
		row := regexp.MustCompile(`^hello\s+\d+/2\s+\d+\s+\d+\s+\S+\s+nginx\s+nginx:1\.27\s+app=hello$`)
		if !row.MatchString(ls[1]) {
			t.Errorf("row = %q, want it to match %s", ls[1], row)
		}
	})

	// ConfigMaps in their own namespace, created out of name order; the
	// label group=e2e keeps other objects (e.g. kube-root-ca.crt) out of lists.
	c.mustKubectl(t, "create", "namespace", "lists")
	for _, cm := range []struct{ name, app, rank string }{
		{"c", "y", "1"},
		{"a", "x", "3"},
		{"b", "x", "2"},
	} {
		c.mustKubectl(t, "create", "configmap", cm.name, "-n", "lists", "--from-literal=rank="+cm.rank)
		c.mustKubectl(t, "label", "configmap", cm.name, "-n", "lists", "app="+cm.app, "group=e2e")
	}

	tests := []struct {
		name string
		args []string
		want []string // stdout lines, exact and in order
	}{
		{
			name: "--field-selector metadata.name=a",
			args: []string{"get", "cm", "--field-selector", "metadata.name=a", "-o", "name"},
			want: []string{"configmap/a"},
		},
		{
			name: "--field-selector metadata.name!=a",
			args: []string{"get", "cm", "-l", "group=e2e", "--field-selector", "metadata.name!=a", "-o", "name"},
			want: []string{"configmap/b", "configmap/c"},
		},
		{
			name: "--field-selector metadata.namespace across namespaces",
			args: []string{"get", "cm", "-A", "-l", "group=e2e", "--field-selector", "metadata.namespace=lists", "-o", "name"},
			want: []string{"configmap/a", "configmap/b", "configmap/c"},
		},
		{
			name: "-l app=x",
			args: []string{"get", "cm", "-l", "app=x", "-o", "name"},
			want: []string{"configmap/a", "configmap/b"},
		},
		{
			name: "-l with a set selector",
			args: []string{"get", "cm", "-l", "app in (y),group=e2e", "-o", "name"},
			want: []string{"configmap/c"},
		},
		{
			name: "--sort-by=.metadata.name",
			args: []string{"get", "cm", "-l", "group=e2e", "--sort-by=.metadata.name", "-o", "custom-columns=NAME:.metadata.name,RANK:.data.rank", "--no-headers"},
			want: []string{"a 3", "b 2", "c 1"},
		},
		{
			name: "--sort-by=.data.rank",
			args: []string{"get", "cm", "-l", "group=e2e", "--sort-by=.data.rank", "-o", "custom-columns=NAME:.metadata.name", "--no-headers"},
			want: []string{"c", "b", "a"},
		},
		{
			name: "--sort-by in the default table",
			args: []string{"get", "cm", "-l", "group=e2e", "--sort-by=.metadata.name"},
			want: []string{"NAME DATA AGE", "a 1 AGE", "b 1 AGE", "c 1 AGE"},
		},
		{
			name: "-l app=x --show-labels",
			args: []string{"get", "cm", "-l", "app=x", "--show-labels", "--no-headers"},
			want: []string{"a 1 AGE app=x,group=e2e", "b 1 AGE app=x,group=e2e"},
		},
		{
			name: "delete -l app=x",
			args: []string{"delete", "configmap", "-l", "app=x"},
			want: []string{`configmap "a" deleted`, `configmap "b" deleted`},
		},
		{
			name: "after delete -l only the unselected object is left",
			args: []string{"get", "cm", "-l", "group=e2e", "-o", "name"},
			want: []string{"configmap/c"},
		},
	}
	age := regexp.MustCompile(`^(\d+[smhd])+$|^<unknown>$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-n", "lists"}, tc.args...)
			var got []string
			for _, l := range lines(c.mustKubectl(t, args...)) {
				fields := strings.Fields(l)
				for i, f := range fields {
					if age.MatchString(f) {
						fields[i] = "AGE" // ages change; the rest must match
					}
				}
				got = append(got, strings.Join(fields, " "))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stdout lines = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("get pods --field-selector on a pod field", func(t *testing.T) {
		stdout, stderr, err := c.kubectl(t, "get", "pods", "-n", "lists", "--field-selector", "status.phase=Running,spec.nodeName=nowhere")
		if err != nil || stdout != "" || stderr != "No resources found in lists namespace.\n" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and No resources found in lists namespace.", exitCode(err), stdout, stderr)
		}
	})
}
