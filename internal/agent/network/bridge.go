package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// RemoveStaleBridgeAddrs deletes the addresses of bridge that lie outside
// podCIDRs and returns them. A bridge left by an earlier cluster on this
// machine keeps that cluster's gateway address, and the bridge plugin then
// refuses every sandbox ("already has an IP address different from …").
// A bridge that does not exist is fine: the plugin creates it.
func RemoveStaleBridgeAddrs(bridge string, podCIDRs []netip.Prefix) ([]string, error) {
	out, err := exec.Command("ip", "-j", "addr", "show", "dev", bridge).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(ee.Stderr), "does not exist") {
			return nil, nil
		}
		return nil, fmt.Errorf("list addresses of %s: %w", bridge, err)
	}
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, fmt.Errorf("parse addresses of %s: %w", bridge, err)
	}
	var removed []string
	for _, l := range links {
		for _, a := range l.AddrInfo {
			addr, err := netip.ParseAddr(a.Local)
			if err != nil || a.Scope != "global" || inAny(addr, podCIDRs) {
				continue
			}
			cidr := fmt.Sprintf("%s/%d", a.Local, a.PrefixLen)
			if out, err := exec.Command("ip", "addr", "del", cidr, "dev", bridge).CombinedOutput(); err != nil {
				return removed, fmt.Errorf("remove stale address %s from %s: %w: %s", cidr, bridge, err, strings.TrimSpace(string(out)))
			}
			removed = append(removed, cidr)
		}
	}
	return removed, nil
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
