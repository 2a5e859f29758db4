package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestClusterInfo covers what a user looks at first on a new cluster:
// versions, discovery, namespaces and the built-in service.
func TestClusterInfo(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	t.Run("version", func(t *testing.T) {
		stdout, stderr, err := c.kubectl(t, "version", "-o", "json")
		if err != nil {
			t.Fatalf("kubectl version: %v\n%s", err, stderr)
		}
		if strings.Contains(stderr, "WARNING") {
			t.Errorf("kubectl warns about the server version:\n%s", stderr)
		}
		var v struct {
			ServerVersion struct {
				Major, Minor, GitVersion, Platform string
			} `json:"serverVersion"`
		}
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("decode kubectl version -o json: %v\n%s", err, stdout)
		}
		sv := v.ServerVersion
		if !regexp.MustCompile(`^v1\.32\.\d+\+skiff$`).MatchString(sv.GitVersion) {
			t.Errorf("serverVersion.gitVersion = %q, want v1.32.x+skiff", sv.GitVersion)
		}
		if sv.Major != "1" || sv.Minor != "32" {
			t.Errorf("serverVersion major.minor = %q.%q, want 1.32", sv.Major, sv.Minor)
		}
		if sv.Platform == "" {
			t.Errorf("serverVersion.platform is empty")
		}
		out := c.mustKubectl(t, "version")
		if !regexp.MustCompile(`(?m)^Server Version: v1\.32\.\d+\+skiff$`).MatchString(out) {
			t.Errorf("kubectl version does not show the server version:\n%s", out)
		}
	})

	t.Run("api-versions", func(t *testing.T) {
		got := lines(c.mustKubectl(t, "api-versions"))
		for _, want := range []string{
			"v1",
			"apps/v1",
			"batch/v1",
			"autoscaling/v2",
			"policy/v1",
			"rbac.authorization.k8s.io/v1",
			"networking.k8s.io/v1",
			"storage.k8s.io/v1",
			"coordination.k8s.io/v1",
			"discovery.k8s.io/v1",
			"apiextensions.k8s.io/v1",
			"admissionregistration.k8s.io/v1",
			"scheduling.k8s.io/v1",
			"events.k8s.io/v1",
			"certificates.k8s.io/v1",
			"node.k8s.io/v1",
		} {
			if !slices.Contains(got, want) {
				t.Errorf("api-versions lacks %s; got %q", want, got)
			}
		}
	})

	t.Run("api-resources", func(t *testing.T) {
		out := c.mustKubectl(t, "api-resources")
		header := strings.Fields(lines(out)[0])
		if want := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}; !slices.Equal(header, want) {
			t.Errorf("header = %q, want %q", header, want)
		}
		// NAME SHORTNAMES APIVERSION NAMESPACED KIND
		for _, want := range []string{
			"pods po v1 true Pod",
			"services svc v1 true Service",
			"configmaps cm v1 true ConfigMap",
			"secrets v1 true Secret",
			"namespaces ns v1 false Namespace",
			"nodes no v1 false Node",
			"deployments deploy apps/v1 true Deployment",
			"replicasets rs apps/v1 true ReplicaSet",
			"statefulsets sts apps/v1 true StatefulSet",
			"daemonsets ds apps/v1 true DaemonSet",
			"jobs batch/v1 true Job",
			"cronjobs cj batch/v1 true CronJob",
			"horizontalpodautoscalers hpa autoscaling/v2 true HorizontalPodAutoscaler",
			"poddisruptionbudgets pdb policy/v1 true PodDisruptionBudget",
			"clusterroles rbac.authorization.k8s.io/v1 false ClusterRole",
			"rolebindings rbac.authorization.k8s.io/v1 true RoleBinding",
			"ingresses ing networking.k8s.io/v1 true Ingress",
			"customresourcedefinitions crd,crds apiextensions.k8s.io/v1 false CustomResourceDefinition",
		} {
			if !slices.ContainsFunc(lines(out), func(l string) bool { return strings.Join(strings.Fields(l), " ") == want }) {
				t.Errorf("api-resources has no row %q", want)
			}
		}
		if t.Failed() {
			t.Logf("kubectl api-resources:\n%s", out)
		}
	})

	t.Run("api-resources --api-group=apps -o name", func(t *testing.T) {
		got := lines(c.mustKubectl(t, "api-resources", "--api-group=apps", "-o", "name"))
		for _, want := range []string{"deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps", "controllerrevisions.apps"} {
			if !slices.Contains(got, want) {
				t.Errorf("missing %s in %q", want, got)
			}
		}
	})

	t.Run("get ns shows the built-in namespaces", func(t *testing.T) {
		out := c.mustKubectl(t, "get", "ns")
		for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ns) + `\s+Active\s+\S+$`)
			if !re.MatchString(out) {
				t.Errorf("no Active row for %s in:\n%s", ns, out)
			}
		}
	})

	t.Run("get all shows service/kubernetes in default", func(t *testing.T) {
		out := c.mustKubectl(t, "get", "all")
		re := regexp.MustCompile(`(?m)^service/kubernetes\s+ClusterIP\s+\d+\.\d+\.\d+\.\d+\s+<none>\s+443/TCP\s+\S+$`)
		if !re.MatchString(out) {
			t.Errorf("kubectl get all lacks service/kubernetes:\n%s", out)
		}
	})

	t.Run("create namespace", func(t *testing.T) {
		if out := c.mustKubectl(t, "create", "namespace", "team-a"); strings.TrimSpace(out) != "namespace/team-a created" {
			t.Errorf("stdout = %q, want namespace/team-a created", out)
		}
		jsonpathCheck{"ns/team-a", "{.status.phase}", "Active"}.run(t, c)
		jsonpathCheck{"ns/team-a", `{.metadata.labels.kubernetes\.io/metadata\.name}`, "team-a"}.run(t, c)
		if out := c.mustKubectl(t, "create", "configmap", "in-team-a", "-n", "team-a"); strings.TrimSpace(out) != "configmap/in-team-a created" {
			t.Errorf("create in the new namespace: stdout = %q", out)
		}
		if out := c.mustKubectl(t, "get", "cm", "-n", "team-a", "-o", "name"); !slices.Contains(lines(out), "configmap/in-team-a") {
			t.Errorf("get cm -n team-a: stdout = %q, want configmap/in-team-a listed", out)
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := c.mustKubectl(t, "explain", "deployment.spec.replicas")
		if !regexp.MustCompile(`(?m)^FIELD:\s+replicas <integer>$`).MatchString(out) {
			t.Errorf("kubectl explain deployment.spec.replicas:\n%s", out)
		}
	})
}
