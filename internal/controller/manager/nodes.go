package manager

import "github.com/skiffhq/skiff/internal/controller/nodeipam"

// nodeIPAMConfig is the node IPAM controller's config from the options.
func nodeIPAMConfig(o Options) nodeipam.Config {
	return nodeipam.Config{ClusterCIDR: o.ClusterCIDR, NodeCIDRMaskSize: o.NodeCIDRMaskSize}
}
