package nodeipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/controller/nodeipam"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

var ctx = context.Background()

// start runs the controller on a cluster CIDR of four /24 ranges.
func start(t *testing.T) *controllertest.Env {
	return controllertest.Start(t, manager.Options{
		Controllers: []string{"nodeipam"}, ClusterCIDR: "10.42.0.0/22", NodeCIDRMaskSize: 24,
	})
}

func createNode(t *testing.T, c kubernetes.Interface, name, podCIDR string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: podCIDR}}
	if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
}

// waitCIDR waits for the node to get a pod CIDR and returns it.
func waitCIDR(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	var cidr string
	controllertest.Eventually(t, "pod CIDR of "+name, func() (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
			return false, fmt.Errorf("podCIDR %q podCIDRs %v", n.Spec.PodCIDR, n.Spec.PodCIDRs)
		}
		cidr = n.Spec.PodCIDR
		return true, nil
	})
	return cidr
}

func podCIDR(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.PodCIDR
}

func waitEvent(t *testing.T, c kubernetes.Interface, node, reason, substr string) {
	t.Helper()
	controllertest.Eventually(t, reason+" event on "+node, func() (bool, error) {
		evs := controllertest.Events(t, c, metav1.NamespaceDefault, node)
		return controllertest.HasEvent(evs, reason, substr), fmt.Errorf("events %v", evs)
	})
}

// TestAllocation: nodes get distinct ranges inside the cluster CIDR; a
// range a node already has is kept and never handed out again, not even
// after the controller restarts; a CIDR outside the cluster CIDR is left
// alone with an event.
func TestAllocation(t *testing.T) {
	env := start(t)
	c := env.Client
	env.StopManager()
	createNode(t, c, "preset", "10.42.2.0/24")
	createNode(t, c, "outside", "192.168.7.0/24")
	env.StartManager()

	createNode(t, c, "a", "")
	createNode(t, c, "b", "")
	got := map[string]string{"preset": "10.42.2.0/24"}
	for _, name := range []string{"a", "b"} {
		got[name] = waitCIDR(t, c, name)
	}
	env.RestartManager()
	createNode(t, c, "c", "")
	got["c"] = waitCIDR(t, c, "c")

	cluster := netip.MustParsePrefix("10.42.0.0/22")
	seen := map[string]string{}
	for name, cidr := range got {
		p, err := netip.ParsePrefix(cidr)
		if err != nil || p.Bits() != 24 || !cluster.Contains(p.Addr()) {
			t.Errorf("node %s: pod CIDR %q is not a /24 of %s", name, cidr, cluster)
		}
		if other, dup := seen[cidr]; dup {
			t.Errorf("nodes %s and %s share pod CIDR %s", name, other, cidr)
		}
		seen[cidr] = name
	}
	for name, cidr := range got {
		if now := podCIDR(t, c, name); now != cidr {
			t.Errorf("node %s: pod CIDR changed from %s to %s", name, cidr, now)
		}
	}
	waitEvent(t, c, "outside", nodeipam.ReasonCIDROutOfRange, "192.168.7.0/24")
	if got := podCIDR(t, c, "outside"); got != "192.168.7.0/24" {
		t.Errorf("node outside: pod CIDR %q, want it left as 192.168.7.0/24", got)
	}
}

// TestExhaustionAndRelease: with every range taken a new node gets a
// CIDRNotAvailable event and no CIDR; deleting a node frees its range for
// the waiting one.
func TestExhaustionAndRelease(t *testing.T) {
	env := start(t)
	c := env.Client
	cidrs := map[string]string{}
	for _, name := range []string{"n0", "n1", "n2", "n3"} {
		createNode(t, c, name, "")
	}
	for _, name := range []string{"n0", "n1", "n2", "n3"} {
		cidrs[name] = waitCIDR(t, c, name)
	}
	createNode(t, c, "late", "")
	waitEvent(t, c, "late", nodeipam.ReasonCIDRNotAvailable, "Node late status is now: CIDRNotAvailable")
	if got := podCIDR(t, c, "late"); got != "" {
		t.Fatalf("node late got pod CIDR %s from an exhausted range", got)
	}
	// Updates of a waiting node do not repeat the event.
	for i := range 3 {
		patch := fmt.Sprintf(`{"metadata":{"labels":{"touched":"%d"}}}`, i)
		if _, err := c.CoreV1().Nodes().Patch(ctx, "late", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitCIDR(t, c, "late"); got != cidrs["n1"] {
		t.Errorf("node late got %s, want the released %s", got, cidrs["n1"])
	}
	evs, err := c.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=late"})
	if err != nil {
		t.Fatal(err)
	}
	told := int32(0)
	for _, e := range evs.Items {
		if e.Reason == nodeipam.ReasonCIDRNotAvailable {
			told += max(e.Count, 1)
		}
	}
	if told != 1 {
		t.Errorf("CIDRNotAvailable told %d times while the node waited, want once", told)
	}
}

// TestPodCIDRImmutable: the API refuses to change a node's pod CIDR once
// set, and allows setting it from empty.
func TestPodCIDRImmutable(t *testing.T) {
	s := testserver.Start(t, nil)
	c := s.Client
	createNode(t, c, "fixed", "")
	n, err := c.CoreV1().Nodes().Get(ctx, "fixed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.42.5.0/24", []string{"10.42.5.0/24"}
	if n, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set pod CIDR from empty: %v", err)
	}
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.42.6.0/24", []string{"10.42.6.0/24"}
	_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid") {
		t.Fatalf("change pod CIDR: got %v, want Invalid with spec.podCIDRs Forbidden", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     nodeipam.Config
		wantErr string
	}{
		{name: "defaults", cfg: nodeipam.Config{}},
		{name: "ipv6", cfg: nodeipam.Config{ClusterCIDR: "fd00:42::/56", NodeCIDRMaskSize: 64}},
		{name: "not a CIDR", cfg: nodeipam.Config{ClusterCIDR: "10.42.0.0"}, wantErr: "--cluster-cidr"},
		{name: "mask wider than cluster", cfg: nodeipam.Config{ClusterCIDR: "10.42.0.0/16", NodeCIDRMaskSize: 8}, wantErr: "--node-cidr-mask-size"},
		{name: "too many ranges", cfg: nodeipam.Config{ClusterCIDR: "10.0.0.0/8", NodeCIDRMaskSize: 30}, wantErr: "more than 2^16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}
