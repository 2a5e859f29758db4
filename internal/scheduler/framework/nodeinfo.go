package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is one node with the pods on it (bound or assumed) and the sums
// the filters need. The scheduling cycle reads clones (see Snapshot); only
// the cache mutates its own copies, and reuses a snapshot's NodeInfo for
// the node's next copy.
type NodeInfo struct {
	// The fields every filter reads come first, so that a cycle touching
	// hundreds of nodes loads few cache lines per node. name,
	// unschedulable and taints copy the node's fields; slot is its number
	// in the slot space of the snapshot that holds this NodeInfo (0: none),
	// see NodeMatches.
	node          *corev1.Node
	name          string
	unschedulable bool
	slot          int32
	space         *slotSpace
	taints        []corev1.Taint
	Pods          []*PodInfo
	// Requested sums the pods' requests.
	Requested   Resource
	Allocatable Resource
	// NonZeroRequested sums the pods' cpu/memory with the scoring defaults.
	NonZeroRequested Resource
	UsedPorts        HostPortInfo

	// PodsWithAffinity have any pod (anti-)affinity term;
	// PodsWithRequiredAntiAffinity have a required anti-affinity term.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo

	// ImageStates maps every name of every image on the node to its size
	// and spread; shared between clones, never mutated.
	ImageStates map[string]*ImageStateSummary
}

// ImageStateSummary is an image on a node: its size and on how many nodes
// of the cluster it is.
type ImageStateSummary struct {
	Size     int64
	NumNodes int
}

// NewNodeInfo returns a NodeInfo holding pods.
func NewNodeInfo(pods ...*corev1.Pod) *NodeInfo {
	n := &NodeInfo{}
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Node is the node object; nil when the node is gone but pods remain.
func (n *NodeInfo) Node() *corev1.Node {
	if n == nil {
		return nil
	}
	return n.node
}

// SetNode sets the node object and its allocatable.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.name, n.unschedulable, n.taints = node.Name, node.Spec.Unschedulable, node.Spec.Taints
	n.Allocatable = NewResource(node.Status.Allocatable)
}

// RemoveNode clears the node object (its pods stay until removed).
func (n *NodeInfo) RemoveNode() { n.node = nil }

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.name }

// Unschedulable is the node's spec.unschedulable.
func (n *NodeInfo) Unschedulable() bool { return n.unschedulable }

// Taints are the node's spec.taints (read only).
func (n *NodeInfo) Taints() []corev1.Taint { return n.taints }

// AddPod adds a pod.
func (n *NodeInfo) AddPod(pod *corev1.Pod) { n.AddPodInfo(NewPodInfo(pod)) }

// AddPodInfo adds a pod.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod removes the pod with pod's UID.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) error {
	n.PodsWithAffinity, _ = removeByUID(n.PodsWithAffinity, pod.UID)
	n.PodsWithRequiredAntiAffinity, _ = removeByUID(n.PodsWithRequiredAntiAffinity, pod.UID)
	var pi *PodInfo
	n.Pods, pi = removeByUID(n.Pods, pod.UID)
	if pi == nil {
		name := "<nil>"
		if n.node != nil {
			name = n.node.Name
		}
		return fmt.Errorf("pod %s/%s not found on node %s", pod.Namespace, pod.Name, name)
	}
	n.update(pi, -1)
	return nil
}

// removeByUID removes the entry with uid (order is not kept) and returns it.
func removeByUID(list []*PodInfo, uid types.UID) ([]*PodInfo, *PodInfo) {
	for i, pi := range list {
		if pi.Pod.UID == uid {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = nil
			return list[:last], pi
		}
	}
	return list, nil
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.AddResource(&pi.Requests)
		n.NonZeroRequested.AddResource(&pi.NonZero)
	} else {
		n.Requested.SubResource(&pi.Requests)
		n.NonZeroRequested.SubResource(&pi.NonZero)
	}
	for _, c := range pi.Pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			if sign > 0 {
				n.UsedPorts.Add(p.HostIP, p.Protocol, p.HostPort)
			} else {
				n.UsedPorts.Remove(p.HostIP, p.Protocol, p.HostPort)
			}
		}
	}
}

// Clone returns a copy the cache can keep mutating independently.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:             n.node,
		name:             n.name,
		unschedulable:    n.unschedulable,
		slot:             n.slot,
		space:            n.space,
		taints:           n.taints,
		Pods:             append([]*PodInfo(nil), n.Pods...),
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		ImageStates:      n.ImageStates,
		UsedPorts:        n.UsedPorts.Clone(),
	}
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	return c
}

// HostPortInfo is the set of host ports in use on a node, by host IP and
// protocol/port.
type HostPortInfo map[string]map[hostPort]int

type hostPort struct {
	protocol corev1.Protocol
	port     int32
}

const anyIP = "0.0.0.0"

func normalizePort(ip string, proto corev1.Protocol) (string, corev1.Protocol) {
	if ip == "" {
		ip = anyIP
	}
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	return ip, proto
}

// Add records a port in use.
func (h *HostPortInfo) Add(ip string, proto corev1.Protocol, port int32) {
	ip, proto = normalizePort(ip, proto)
	if *h == nil {
		*h = HostPortInfo{}
	}
	if (*h)[ip] == nil {
		(*h)[ip] = map[hostPort]int{}
	}
	(*h)[ip][hostPort{proto, port}]++
}

// Remove forgets one use of a port.
func (h HostPortInfo) Remove(ip string, proto corev1.Protocol, port int32) {
	ip, proto = normalizePort(ip, proto)
	m := h[ip]
	k := hostPort{proto, port}
	if m[k] <= 1 {
		delete(m, k)
		if len(m) == 0 {
			delete(h, ip)
		}
		return
	}
	m[k]--
}

// CheckConflict reports whether ip/proto/port collides with a port in use:
// the wildcard address 0.0.0.0 collides with every address.
func (h HostPortInfo) CheckConflict(ip string, proto corev1.Protocol, port int32) bool {
	if len(h) == 0 {
		return false
	}
	ip, proto = normalizePort(ip, proto)
	k := hostPort{proto, port}
	if ip == anyIP {
		for _, m := range h {
			if m[k] > 0 {
				return true
			}
		}
		return false
	}
	return h[ip][k] > 0 || h[anyIP][k] > 0
}

// Clone deep-copies h.
func (h HostPortInfo) Clone() HostPortInfo {
	if len(h) == 0 {
		return nil
	}
	c := make(HostPortInfo, len(h))
	for ip, m := range h {
		cm := make(map[hostPort]int, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c[ip] = cm
	}
	return c
}
