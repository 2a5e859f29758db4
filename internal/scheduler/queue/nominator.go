package queue

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// nominator remembers which pending pods preemption promised room on which
// node, so the filters of lower-priority pods leave that room free.
type nominator struct {
	// mu guards byNode and byUID; count mirrors len(byUID) so that the
	// filters, which ask once per node, skip the lock when nothing is
	// nominated (the common case).
	mu     sync.RWMutex
	byNode map[string][]*framework.PodInfo
	byUID  map[types.UID]string
	count  atomic.Int64
}

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, byUID: map[types.UID]string{}}
}

// add nominates pi to node, or to its status.nominatedNodeName when node
// is "".
func (n *nominator) add(pi *framework.PodInfo, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addLocked(pi, node)
}

func (n *nominator) addLocked(pi *framework.PodInfo, node string) {
	n.deleteLocked(pi.Pod)
	if node == "" {
		node = pi.Pod.Status.NominatedNodeName
	}
	if node == "" {
		return
	}
	n.byUID[pi.Pod.UID] = node
	n.byNode[node] = append(n.byNode[node], pi)
	n.count.Store(int64(len(n.byUID)))
}

// update replaces the pod; an update that carries no nomination keeps the
// one made in memory (the status patch may not have landed yet).
func (n *nominator) update(old *corev1.Pod, pi *framework.PodInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	node := ""
	if old.Status.NominatedNodeName == "" && pi.Pod.Status.NominatedNodeName == "" {
		node = n.byUID[old.UID]
	}
	n.addLocked(pi, node)
}

// set nominates pi to node; "" clears the nomination.
func (n *nominator) set(pi *framework.PodInfo, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pi.Pod)
	if node != "" {
		n.byUID[pi.Pod.UID] = node
		n.byNode[node] = append(n.byNode[node], pi)
	}
	n.count.Store(int64(len(n.byUID)))
}

func (n *nominator) delete(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pod)
}

func (n *nominator) deleteLocked(pod *corev1.Pod) {
	node, ok := n.byUID[pod.UID]
	if !ok {
		return
	}
	delete(n.byUID, pod.UID)
	n.count.Store(int64(len(n.byUID)))
	list := n.byNode[node]
	for i, pi := range list {
		if pi.Pod.UID == pod.UID {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = list
	}
}

// Len implements framework.PodNominator.
func (n *nominator) Len() int { return int(n.count.Load()) }

// NominatedPodsForNode implements framework.PodNominator.
func (n *nominator) NominatedPodsForNode(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(n.byNode[node]) == 0 {
		return nil
	}
	return append([]*framework.PodInfo(nil), n.byNode[node]...)
}
