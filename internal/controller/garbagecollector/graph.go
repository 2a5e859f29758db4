package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// objectID names one object.
type objectID struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
}

// node is one object in the ownership graph.
type node struct {
	id objectID
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// dependents point back at this node through their owners.
	dependents map[types.UID]*node
	// observed is false for a virtual node: an owner named by a dependent
	// but not (yet) seen by an informer.
	observed bool
	// deleting: deletionTimestamp is set.
	deleting bool
	// deletingDependents: deleting with the foregroundDeletion finalizer.
	deletingDependents bool
}

// nodeView is a copy of a node's facts, safe to use without the lock.
type nodeView struct {
	id                 objectID
	observed           bool
	deleting           bool
	deletingDependents bool
	dependents         []dependentView
}

// dependentView is a dependent of a node and how it points at the node.
type dependentView struct {
	id                 objectID
	deletingDependents bool
	// blocking: its ownerReference to the node has blockOwnerDeletion=true.
	blocking bool
}

// work is what a graph change asks the collector to look at.
type work struct {
	attemptDelete []types.UID
	attemptOrphan []types.UID
}

// graph is the ownership graph of every monitored object.
type graph struct {
	// mu guards nodes and every node reachable from it.
	mu    sync.Mutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

// observe records an added or updated object and returns the follow-up
// work.
func (g *graph) observe(id objectID, m metav1.Object) work {
	g.mu.Lock()
	defer g.mu.Unlock()
	var w work
	n := g.nodes[id.UID]
	if n == nil {
		n = &node{dependents: map[types.UID]*node{}}
		g.nodes[id.UID] = n
	}
	n.id, n.observed = id, true
	oldOwners := n.owners
	n.owners = slices.Clone(m.GetOwnerReferences())

	for _, ref := range oldOwners {
		if ownerRef(n.owners, ref.UID) != nil {
			continue
		}
		// Dropped owner: it may have been waiting for this dependent.
		if owner := g.nodes[ref.UID]; owner != nil {
			delete(owner.dependents, n.id.UID)
			if owner.deletingDependents {
				w.attemptDelete = append(w.attemptDelete, owner.id.UID)
			}
			g.dropUnreferencedVirtual(owner)
		}
	}
	for _, ref := range n.owners {
		owner := g.nodes[ref.UID]
		if owner == nil {
			// An owner we have not seen: check that it exists.
			owner = &node{
				id:         objectID{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: id.Namespace, Name: ref.Name, UID: ref.UID},
				dependents: map[types.UID]*node{},
			}
			g.nodes[ref.UID] = owner
			w.attemptDelete = append(w.attemptDelete, ref.UID)
		}
		owner.dependents[n.id.UID] = n
		if old := ownerRef(oldOwners, ref.UID); old != nil && blocks(old) && !blocks(&ref) && owner.deletingDependents {
			// No longer blocking a foreground deletion.
			w.attemptDelete = append(w.attemptDelete, owner.id.UID)
		}
		if owner.deletingDependents {
			// A dependent of an owner being deleted in the foreground.
			w.attemptDelete = append(w.attemptDelete, n.id.UID)
		}
	}

	n.deleting = m.GetDeletionTimestamp() != nil
	n.deletingDependents = n.deleting && slices.Contains(m.GetFinalizers(), metav1.FinalizerDeleteDependents)
	if n.deleting && slices.Contains(m.GetFinalizers(), metav1.FinalizerOrphanDependents) {
		w.attemptOrphan = append(w.attemptOrphan, n.id.UID)
	}
	if n.deletingDependents {
		w.attemptDelete = append(w.attemptDelete, n.id.UID)
		for uid := range n.dependents {
			w.attemptDelete = append(w.attemptDelete, uid)
		}
	}
	return w
}

// forget removes a deleted object and returns the follow-up work: its
// dependents lost an owner, its owners may have been waiting for it.
func (g *graph) forget(uid types.UID) work {
	g.mu.Lock()
	defer g.mu.Unlock()
	var w work
	n := g.nodes[uid]
	if n == nil {
		return w
	}
	delete(g.nodes, uid)
	for _, ref := range n.owners {
		owner := g.nodes[ref.UID]
		if owner == nil {
			continue
		}
		delete(owner.dependents, uid)
		if owner.deletingDependents {
			w.attemptDelete = append(w.attemptDelete, owner.id.UID)
		}
		g.dropUnreferencedVirtual(owner)
	}
	for dep := range n.dependents {
		w.attemptDelete = append(w.attemptDelete, dep)
	}
	return w
}

// forgetVirtual removes a virtual node found not to exist; it returns its
// dependents, which lost an owner. An observed node is left alone (its
// informer reports its deletion).
func (g *graph) forgetVirtual(uid types.UID) work {
	g.mu.Lock()
	n := g.nodes[uid]
	observed := n == nil || n.observed
	g.mu.Unlock()
	if observed {
		return work{}
	}
	return g.forget(uid)
}

// dropUnreferencedVirtual removes a virtual node nothing points at any more.
// Caller holds mu.
func (g *graph) dropUnreferencedVirtual(n *node) {
	if !n.observed && len(n.dependents) == 0 {
		delete(g.nodes, n.id.UID)
	}
}

// view returns a copy of the node's facts.
func (g *graph) view(uid types.UID) (nodeView, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	if n == nil {
		return nodeView{}, false
	}
	v := nodeView{id: n.id, observed: n.observed, deleting: n.deleting, deletingDependents: n.deletingDependents}
	for _, dep := range n.dependents {
		ref := ownerRef(dep.owners, uid)
		v.dependents = append(v.dependents, dependentView{
			id: dep.id, deletingDependents: dep.deletingDependents, blocking: ref != nil && blocks(ref),
		})
	}
	return v, true
}

func ownerRef(refs []metav1.OwnerReference, uid types.UID) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].UID == uid {
			return &refs[i]
		}
	}
	return nil
}

func blocks(ref *metav1.OwnerReference) bool {
	return ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion
}
