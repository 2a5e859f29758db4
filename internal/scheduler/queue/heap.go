package queue

import (
	"container/heap"

	"k8s.io/apimachinery/pkg/types"
)

// podHeap is a heap of queued pods keyed by UID, with updates and deletes
// by key.
type podHeap struct {
	items []*QueuedPodInfo
	index map[types.UID]int
	less  func(a, b *QueuedPodInfo) bool
}

func newPodHeap(less func(a, b *QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: map[types.UID]int{}, less: less}
}

// heap.Interface, over items.
func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].Pod.UID] = i
	h.index[h.items[j].Pod.UID] = j
}
func (h *podHeap) Push(x any) {
	q := x.(*QueuedPodInfo)
	h.index[q.Pod.UID] = len(h.items)
	h.items = append(h.items, q)
}
func (h *podHeap) Pop() any {
	last := len(h.items) - 1
	q := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	delete(h.index, q.Pod.UID)
	return q
}

// AddOrUpdate inserts q or replaces the entry with its UID.
func (h *podHeap) AddOrUpdate(q *QueuedPodInfo) {
	if i, ok := h.index[q.Pod.UID]; ok {
		h.items[i] = q
		heap.Fix(h, i)
		return
	}
	heap.Push(h, q)
}

// Get returns the entry with uid.
func (h *podHeap) Get(uid types.UID) (*QueuedPodInfo, bool) {
	i, ok := h.index[uid]
	if !ok {
		return nil, false
	}
	return h.items[i], true
}

// Delete removes the entry with uid.
func (h *podHeap) Delete(uid types.UID) (*QueuedPodInfo, bool) {
	i, ok := h.index[uid]
	if !ok {
		return nil, false
	}
	return heap.Remove(h, i).(*QueuedPodInfo), true
}

// Peek returns the top entry.
func (h *podHeap) Peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// PopTop removes and returns the top entry.
func (h *podHeap) PopTop() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return heap.Pop(h).(*QueuedPodInfo)
}
