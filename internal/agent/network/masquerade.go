package network

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// EnsureMasquerade installs one NAT rule per pod CIDR so traffic from pods
// leaving the node through any interface but the pod bridge takes the
// node's address. One rule for the node, instead of the bridge plugin's
// ipMasq (a chain and several iptables calls per pod, serialized on the
// xtables lock), keeps sandbox creation fast.
func EnsureMasquerade(bridge string, podCIDRs []netip.Prefix) error {
	for _, p := range podCIDRs {
		bin := "iptables"
		if p.Addr().Is6() {
			bin = "ip6tables"
		}
		rule := []string{"POSTROUTING", "-s", p.Masked().String(), "!", "-o", bridge,
			"-m", "comment", "--comment", "skiff pod masquerade " + bridge, "-j", "MASQUERADE"}
		check := append([]string{"-w", "-t", "nat", "-C"}, rule...)
		if exec.Command(bin, check...).Run() == nil {
			continue
		}
		add := append([]string{"-w", "-t", "nat", "-A"}, rule...)
		if out, err := exec.Command(bin, add...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(add, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// RemoveMasquerade deletes the rules EnsureMasquerade installed for
// bridge (tests, and nodes leaving the cluster).
func RemoveMasquerade(bridge string) error {
	for _, bin := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(bin, "-w", "-t", "nat", "-S", "POSTROUTING").Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			if !strings.Contains(line, `"skiff pod masquerade `+bridge+`"`) {
				continue
			}
			f := strings.Fields(line)
			for i := 0; i+1 < len(f); i++ {
				if f[i] != "-s" {
					continue
				}
				del := []string{"-w", "-t", "nat", "-D", "POSTROUTING", "-s", f[i+1], "!", "-o", bridge,
					"-m", "comment", "--comment", "skiff pod masquerade " + bridge, "-j", "MASQUERADE"}
				if out, err := exec.Command(bin, del...).CombinedOutput(); err != nil {
					return fmt.Errorf("%s -D: %w: %s", bin, err, strings.TrimSpace(string(out)))
				}
			}
		}
	}
	return nil
}
