// Package network is the node's pod network: the CNI configuration the
// runtime uses to give every pod sandbox an address on the node's podCIDR
// (Debian's bridge, host-local and portmap plugins), and later the service
// proxy and node-local DNS.
package network

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// DefaultBridge is the Linux bridge pods attach to.
const DefaultBridge = "skiff0"

// confName is the file the agent owns in the CNI conf dir. The runtime
// loads the first file in lexical order (max_conf_num = 1), hence "10-".
const confName = "10-skiff.conflist"

// CNIConfig describes the node's pod network.
type CNIConfig struct {
	// PodCIDRs are the node's pod ranges (spec.podCIDRs), one per family.
	PodCIDRs []netip.Prefix
	// Bridge is the Linux bridge name; empty means DefaultBridge.
	Bridge string
	// IPAMDir holds host-local's allocations (one file per address), so
	// they survive restarts and never mix with another node's.
	IPAMDir string
	// MTU of the bridge and veths; 0 lets the plugin choose.
	MTU int
	// Masquerade makes pod traffic leaving the node take the node's address.
	Masquerade bool
}

// Render returns the conflist: bridge with host-local IPAM on the pod
// CIDRs (the bridge is the pods' gateway), then portmap for hostPort.
func (c CNIConfig) Render() ([]byte, error) {
	if len(c.PodCIDRs) == 0 {
		return nil, fmt.Errorf("cni: no pod CIDR")
	}
	var ranges [][]map[string]string
	var routes []map[string]string
	for _, p := range c.PodCIDRs {
		if !p.IsValid() {
			return nil, fmt.Errorf("cni: invalid pod CIDR %v", p)
		}
		ranges = append(ranges, []map[string]string{{"subnet": p.Masked().String()}})
		dst := "0.0.0.0/0"
		if p.Addr().Is6() {
			dst = "::/0"
		}
		routes = append(routes, map[string]string{"dst": dst})
	}
	bridge := map[string]any{
		"type": "bridge", "bridge": orDefault(c.Bridge, DefaultBridge),
		"isGateway": true, "ipMasq": c.Masquerade, "hairpinMode": true,
		"ipam": map[string]any{"type": "host-local", "ranges": ranges, "routes": routes, "dataDir": c.IPAMDir},
	}
	if c.MTU > 0 {
		bridge["mtu"] = c.MTU
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "skiff",
		"plugins": []any{
			bridge,
			map[string]any{"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// WriteCNIConfig writes c into confDir unless the same content is there
// already, and reports whether it wrote. The write is atomic: the runtime
// watches the directory and must never read half a file.
func WriteCNIConfig(confDir string, c CNIConfig) (bool, error) {
	data, err := c.Render()
	if err != nil {
		return false, err
	}
	path := filepath.Join(confDir, confName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	if err := os.MkdirAll(c.IPAMDir, 0o700); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	tmp := filepath.Join(confDir, "."+confName+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("cni: %w", err)
	}
	return true, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
