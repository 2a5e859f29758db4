package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/agent/network"
)

// podNetwork writes the CNI configuration once the node has a podCIDR
// (from the nodeipam controller) and tells the runtime; until then the
// runtime reports NetworkReady=false and the node is not Ready.
type podNetwork struct {
	rt      *nodeRuntime
	dataDir string
	bridge  string
	log     *slog.Logger
	applied string
}

// sync applies node's podCIDRs if they changed.
func (p *podNetwork) sync(ctx context.Context, node *corev1.Node) error {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
		cidrs = []string{node.Spec.PodCIDR}
	}
	if len(cidrs) == 0 {
		return nil
	}
	key := fmt.Sprint(cidrs)
	if key == p.applied {
		return nil
	}
	var prefixes []netip.Prefix
	for _, c := range cidrs {
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("node podCIDR %q: %w", c, err)
		}
		prefixes = append(prefixes, pfx)
	}
	bridge := p.bridge
	if bridge == "" {
		bridge = network.DefaultBridge
	}
	removed, err := network.RemoveStaleBridgeAddrs(bridge, prefixes)
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		p.log.Warn("removed addresses of an earlier pod network from the bridge", "bridge", bridge, "addresses", removed)
	}
	wrote, err := network.WriteCNIConfig(p.rt.cniConfDir, network.CNIConfig{
		PodCIDRs: prefixes, Bridge: p.bridge, Masquerade: false,
		IPAMDir: filepath.Join(p.dataDir, "agent", "cni", "ipam"),
	})
	if err != nil {
		return err
	}
	if err := network.EnsureMasquerade(bridge, prefixes); err != nil {
		// Pods still reach the node and each other; only traffic leaving
		// the node keeps the pod's address.
		p.log.Warn("pod masquerade rule", "err", err)
	}
	if err := p.rt.client.UpdateRuntimeConfig(ctx, cidrs[0]); err != nil {
		return err
	}
	if wrote {
		p.log.Info("pod network configured", "podCIDRs", cidrs, "confDir", p.rt.cniConfDir)
	}
	p.applied = key
	return nil
}
