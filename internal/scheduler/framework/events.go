package framework

// EventResource is the kind of object a cluster event is about.
type EventResource string

// Event resources the queue reacts to.
const (
	Node EventResource = "Node"
	// AssignedPod is a pod bound to a node.
	AssignedPod EventResource = "AssignedPod"
	Namespace   EventResource = "Namespace"
)

// ActionType is what happened to the object; a bit set.
type ActionType uint

// Actions.
const (
	Add ActionType = 1 << iota
	Delete
	// UpdateNodeAllocatable: the node's allocatable changed.
	UpdateNodeAllocatable
	// UpdateNodeLabel: the node's labels changed.
	UpdateNodeLabel
	// UpdateNodeTaint: the node's taints or spec.unschedulable changed.
	UpdateNodeTaint
	// UpdateNodeImages: the node's image list changed.
	UpdateNodeImages
	// UpdatePodLabel: an assigned pod's labels changed.
	UpdatePodLabel
	// UpdatePodScaleDown: an assigned pod finished or its requests went down.
	UpdatePodScaleDown
	// Update is any update.
	Update = UpdateNodeAllocatable | UpdateNodeLabel | UpdateNodeTaint | UpdateNodeImages | UpdatePodLabel | UpdatePodScaleDown
	// All is every action.
	All = Add | Delete | Update
)

// ClusterEvent is a change that may make unschedulable pods schedulable.
type ClusterEvent struct {
	Resource   EventResource
	ActionType ActionType
	Label      string
}

// Match reports whether e (an event that happened) is covered by the
// registered event r.
func (r ClusterEvent) Match(e ClusterEvent) bool {
	return r.Resource == e.Resource && r.ActionType&e.ActionType != 0
}

// Well-known events.
var (
	// EventUnschedulableTimeout is the periodic flush of pods that waited
	// too long; it matches every plugin.
	EventUnschedulableTimeout = ClusterEvent{Resource: "*", ActionType: All, Label: "UnschedulableTimeout"}
	// EventForceActivate moves every pod (tests, leadership changes).
	EventForceActivate = ClusterEvent{Resource: "*", ActionType: All, Label: "ForceActivate"}
)
