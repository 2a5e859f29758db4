// Package agent is the node agent (skiff's kubelet): it registers the node,
// renews its lease, runs the pods bound to it through CRI and serves the
// agent API the API server proxies logs, exec and port-forward to.
package agent

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// Options are the `skiff agent` flags (and what `skiff server` passes to
// its in-process agent).
type Options struct {
	// DataDir is DIR: the agent keeps its files in DIR/agent and the
	// managed containerd in DIR/containerd.
	DataDir string
	// NodeName defaults to the hostname; NodeIP to the address of the
	// interface holding the default route (or the first non-loopback one).
	NodeName string
	NodeIP   string
	// RuntimeEndpoint is a CRI socket to use instead of a managed
	// containerd ("unix:///run/containerd/containerd.sock").
	RuntimeEndpoint string
	// Config is how the agent reaches the API server, with its own
	// credentials (a node client certificate, renewed by whoever built it).
	Config *rest.Config
	// ControlPlane labels the node node-role.kubernetes.io/control-plane.
	ControlPlane bool
	// Labels and Taints are added to the node at registration.
	Labels map[string]string
	Taints []corev1.Taint
	// KubeReserved and SystemReserved are subtracted from capacity, with
	// the hard eviction thresholds, to give allocatable.
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	// EvictionHard maps signals ("memory.available", "nodefs.available",
	// "imagefs.available", "pid.available") to thresholds ("100Mi", "10%").
	EvictionHard map[string]string
	// Port is the agent API's HTTPS port (10250); 0 picks a free one,
	// published in the node's status.daemonEndpoints.
	Port int
	// ClusterDNS and ClusterDomain go into pods' resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
}

// Run runs the agent until ctx ends.
func Run(ctx context.Context, o Options) error {
	return errors.New("agent: not implemented")
}
