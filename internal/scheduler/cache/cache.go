// Package cache keeps the scheduler's view of the cluster between cycles:
// a NodeInfo per node with the pods bound to it plus the pods the
// scheduler has assumed there but whose binding the informer has not
// confirmed yet. UpdateSnapshot copies what changed into the immutable
// Snapshot a cycle decides on.
package cache

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"sync"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// Cache is safe for concurrent use: informer handlers, the scheduling
// cycle and binding goroutines all call it.
type Cache struct {
	// mu guards every field below.
	mu sync.Mutex
	// nodes holds a NodeInfo per node name; one whose node is gone stays
	// (with a nil node) until its last pod leaves.
	nodes map[string]*framework.NodeInfo
	// pods holds every pod in the cache by UID.
	pods map[types.UID]*podState
	// dirty are the nodes changed since the last UpdateSnapshot.
	dirty map[string]struct{}
	// nodeSetChanged: a node came, went or changed zone; the order of the
	// snapshot's list must be recomputed.
	nodeSetChanged bool
	// imageNodes counts the nodes each image name is on.
	imageNodes    map[string]int
	imagesChanged bool
	// last is the snapshot last updated and index the position of each
	// node in its list.
	last  *framework.Snapshot
	index map[string]int
	// block holds last's NodeInfos, in the order of its list (see layOut).
	block []framework.NodeInfo
}

type podState struct {
	info *framework.PodInfo
	// assumed: placed by this scheduler, not yet seen bound.
	assumed bool
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*podState{},
		dirty: map[string]struct{}{}, imageNodes: map[string]int{}}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = framework.NewNodeInfo()
		c.nodes[name] = ni
	}
	c.dirty[name] = struct{}{}
	return ni
}

// AddNode adds or updates a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodeInfo(node.Name)
	old := ni.Node()
	if old == nil || zoneOf(old) != zoneOf(node) {
		c.nodeSetChanged = true
	}
	c.countImages(old, -1)
	c.countImages(node, 1)
	ni.SetNode(node)
}

// UpdateNode updates a node.
func (c *Cache) UpdateNode(_, node *corev1.Node) { c.AddNode(node) }

// RemoveNode removes a node; its pods stay until they are removed.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	c.countImages(ni.Node(), -1)
	ni.RemoveNode()
	if len(ni.Pods) == 0 {
		delete(c.nodes, node.Name)
	}
	c.dirty[node.Name] = struct{}{}
	c.nodeSetChanged = true
}

func (c *Cache) countImages(node *corev1.Node, delta int) {
	if node == nil {
		return
	}
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			c.imageNodes[name] += delta
			if c.imageNodes[name] <= 0 {
				delete(c.imageNodes, name)
			}
			c.imagesChanged = true
		}
	}
}

// AssumePod places pi (whose spec.nodeName is set) on its node before the
// binding is confirmed.
func (c *Cache) AssumePod(pi *framework.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Pod.UID]; ok {
		return fmt.Errorf("pod %s/%s is already in the cache", pi.Pod.Namespace, pi.Pod.Name)
	}
	c.addLocked(pi, true)
	return nil
}

// ForgetPod undoes AssumePod (binding failed).
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removeLocked(ps.info.Pod)
	}
}

// IsAssumedPod reports whether pod is assumed and not yet confirmed.
func (c *Cache) IsAssumedPod(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	return ok && ps.assumed
}

// AddPod adds a bound pod seen by the informer; an assumed pod is
// confirmed (and moved if it was bound elsewhere).
func (c *Cache) AddPod(pod *corev1.Pod) {
	pi := framework.NewPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removeLocked(ps.info.Pod)
	}
	c.addLocked(pi, false)
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(_, pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod removes a pod (deleted or finished).
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removeLocked(ps.info.Pod)
	}
}

func (c *Cache) addLocked(pi *framework.PodInfo, assumed bool) {
	c.nodeInfo(pi.Pod.Spec.NodeName).AddPodInfo(pi)
	c.pods[pi.Pod.UID] = &podState{info: pi, assumed: assumed}
}

func (c *Cache) removeLocked(pod *corev1.Pod) {
	delete(c.pods, pod.UID)
	ni, ok := c.nodes[pod.Spec.NodeName]
	if !ok {
		return
	}
	_ = ni.RemovePod(pod)
	c.dirty[pod.Spec.NodeName] = struct{}{}
	if ni.Node() == nil && len(ni.Pods) == 0 {
		delete(c.nodes, pod.Spec.NodeName)
	}
}

// UpdateSnapshot copies the nodes changed since the last call into snap
// (only the scheduling goroutine may call it, between cycles).
func (c *Cache) UpdateSnapshot(snap *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap != c.last || snap.NodeInfoMap == nil {
		snap.Reset()
		for name := range c.nodes {
			c.dirty[name] = struct{}{}
		}
		c.last, c.nodeSetChanged, c.imagesChanged = snap, true, true
	}
	if len(c.dirty) == 0 && !c.imagesChanged {
		return
	}
	for name := range c.dirty {
		ni, ok := c.nodes[name]
		if !ok || ni.Node() == nil {
			snap.ReplaceNode(name, nil)
			continue
		}
		clone := ni.Clone()
		clone.ImageStates = framework.ImageStatesOf(clone.Node(), c.imageNodes)
		snap.ReplaceNode(name, clone)
	}
	if c.nodeSetChanged {
		c.reorder(snap)
		c.layOut(snap)
	} else {
		for name := range c.dirty {
			if i, ok := c.index[name]; ok {
				c.block[i] = *snap.NodeInfoMap[name]
				snap.MoveNode(name, &c.block[i])
				snap.NodeInfoList[i] = &c.block[i]
			}
		}
	}
	if c.imagesChanged {
		for _, ni := range snap.NodeInfoList {
			ni.ImageStates = framework.ImageStatesOf(ni.Node(), c.imageNodes)
		}
	}
	if len(c.dirty) > smallDirtySet {
		// A map keeps the room it once needed, and ranging over it visits
		// all of that: after a full refresh (every node dirty) the next
		// cycles, with a node or two dirty, would pay for all nodes.
		c.dirty = map[string]struct{}{}
	} else {
		clear(c.dirty)
	}
	c.nodeSetChanged, c.imagesChanged = false, false
}

// smallDirtySet is how many dirty nodes a refresh may leave the dirty set
// grown to; a larger one is replaced by an empty map.
const smallDirtySet = 64

// reorder lists the snapshot's nodes interleaving zones (one node of each
// zone in turn), so that a cycle which stops after enough feasible nodes
// still sees every zone.
func (c *Cache) reorder(snap *framework.Snapshot) {
	byZone := map[string][]string{}
	for name, ni := range snap.NodeInfoMap {
		z := zoneOf(ni.Node())
		byZone[z] = append(byZone[z], name)
	}
	zones := make([]string, 0, len(byZone))
	for z, names := range byZone {
		sort.Strings(names)
		zones = append(zones, z)
	}
	sort.Strings(zones)
	snap.NodeInfoList = snap.NodeInfoList[:0]
	c.index = make(map[string]int, len(snap.NodeInfoMap))
	for i := 0; len(snap.NodeInfoList) < len(snap.NodeInfoMap); i++ {
		for _, z := range zones {
			if names := byZone[z]; i < len(names) {
				c.index[names[i]] = len(snap.NodeInfoList)
				snap.NodeInfoList = append(snap.NodeInfoList, snap.NodeInfoMap[names[i]])
			}
		}
	}
}

// layOut copies the snapshot's NodeInfos into one block, in list order.
// Filtering walks the list and the first read of each NodeInfo was its
// largest single cost (a cache miss per node); NodeInfos next to each
// other in memory are fetched ahead by the processor instead. Refreshes
// copy a changed node's new NodeInfo into its place in the block.
func (c *Cache) layOut(snap *framework.Snapshot) {
	c.block = make([]framework.NodeInfo, len(snap.NodeInfoList))
	for i, ni := range snap.NodeInfoList {
		c.block[i] = *ni
		snap.MoveNode(ni.Name(), &c.block[i])
		snap.NodeInfoList[i] = &c.block[i]
	}
}

// zoneOf is the node's region and zone.
func zoneOf(node *corev1.Node) string {
	if node == nil {
		return ""
	}
	return node.Labels[corev1.LabelTopologyRegion] + ":\x00:" + node.Labels[corev1.LabelTopologyZone]
}

// Dump returns a copy of every node's NodeInfo (tests, checks).
func (c *Cache) Dump() map[string]*framework.NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*framework.NodeInfo, len(c.nodes))
	for name, ni := range c.nodes {
		out[name] = ni.Clone()
	}
	return out
}

// PodCount is the number of pods in the cache (assumed included).
func (c *Cache) PodCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pods)
}

// AssumedCount is the number of assumed pods not yet confirmed.
func (c *Cache) AssumedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ps := range c.pods {
		if ps.assumed {
			n++
		}
	}
	return n
}
