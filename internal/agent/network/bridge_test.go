package network_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/agent/network"
)

// TestRemoveStaleBridgeAddrs: a bridge holding an earlier cluster's
// gateway loses that address and keeps the one in the current podCIDR.
func TestRemoveStaleBridgeAddrs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a bridge")
	}
	bridge := fmt.Sprintf("sknet%05x", time.Now().UnixNano()&0xfffff)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	if removed, err := network.RemoveStaleBridgeAddrs(bridge, nil); err != nil || len(removed) != 0 {
		t.Fatalf("absent bridge: %v, %v; want nothing to do", removed, err)
	}
	ip("link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "delete", bridge).Run() })
	ip("addr", "add", "10.254.7.1/24", "dev", bridge)
	ip("addr", "add", "10.254.9.1/24", "dev", bridge)

	removed, err := network.RemoveStaleBridgeAddrs(bridge, []netip.Prefix{netip.MustParsePrefix("10.254.9.0/24")})
	if err != nil || !slices.Equal(removed, []string{"10.254.7.1/24"}) {
		t.Fatalf("removed %v, %v; want the 10.254.7.1/24 gateway only", removed, err)
	}
	out, _ := exec.Command("ip", "-4", "addr", "show", "dev", bridge).Output()
	if strings.Contains(string(out), "10.254.7.1") || !strings.Contains(string(out), "10.254.9.1/24") {
		t.Errorf("bridge addresses now:\n%s", out)
	}
}
