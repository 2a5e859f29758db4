package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/queue"
)

// addEventHandlers feeds the informers into the cache (bound pods, nodes)
// and the queue (pending pods of our profiles), and turns cluster changes
// into queue events.
func (s *Scheduler) addEventHandlers() error {
	pods := s.informers.Core().V1().Pods().Informer()
	nodes := s.informers.Core().V1().Nodes().Informer()
	namespaces := s.informers.Core().V1().Namespaces().Informer()
	for _, inf := range []toolscache.SharedIndexInformer{pods, nodes} {
		if err := inf.SetTransform(stripManagedFields); err != nil {
			return fmt.Errorf("scheduler: set informer transform: %w", err)
		}
	}
	if _, err := pods.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete,
	}); err != nil {
		return err
	}
	if _, err := nodes.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete,
	}); err != nil {
		return err
	}
	nsEvent := func(a framework.ActionType) {
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Namespace, ActionType: a}, nil)
	}
	_, err := namespaces.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { nsEvent(framework.Add) },
		UpdateFunc: func(old, cur any) { nsEvent(framework.UpdatePodLabel) },
	})
	return err
}

// stripManagedFields drops what the scheduler never reads, to save memory.
// It only writes when there is something to drop, so it may see an object
// twice.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func assigned(p *corev1.Pod) bool { return p.Spec.NodeName != "" }

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// responsible reports whether one of our profiles schedules pod.
func (s *Scheduler) responsible(p *corev1.Pod) bool {
	_, ok := s.profiles[p.Spec.SchedulerName]
	return ok
}

func podOf(obj any) *corev1.Pod {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

func nodeOf(obj any) *corev1.Node {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, _ := obj.(*corev1.Node)
	return n
}

var (
	evAssignedPodAdd    = framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.Add}
	evAssignedPodDelete = framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.Delete}
	evAssignedPodLabel  = framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.UpdatePodLabel}
)

func (s *Scheduler) onPodAdd(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	if assigned(pod) {
		s.queue.Delete(pod)
		if terminal(pod) {
			return
		}
		s.cache.AddPod(pod)
		s.queue.MoveOnEvent(evAssignedPodAdd, affinityMatches(pod))
		return
	}
	if s.responsible(pod) && !terminal(pod) && pod.DeletionTimestamp == nil && !gated(pod) {
		s.queue.Add(pod)
	}
}

// gated reports a pod held by scheduling gates: it is not scheduled until
// they are all removed.
func gated(p *corev1.Pod) bool { return len(p.Spec.SchedulingGates) > 0 }

func (s *Scheduler) onPodUpdate(oldObj, newObj any) {
	old, pod := podOf(oldObj), podOf(newObj)
	if old == nil || pod == nil {
		return
	}
	if assigned(pod) {
		s.onAssignedPodUpdate(old, pod)
		return
	}
	switch {
	case !s.responsible(pod):
		if s.responsible(old) {
			s.queue.Delete(pod)
		}
	case s.cache.IsAssumedPod(pod):
		// Being bound; this is an older version.
	case terminal(pod) || pod.DeletionTimestamp != nil || gated(pod):
		s.queue.Delete(pod)
	default:
		s.queue.Update(old, pod)
	}
}

func (s *Scheduler) onAssignedPodUpdate(old, pod *corev1.Pod) {
	if !assigned(old) {
		s.queue.Delete(pod)
	}
	if terminal(pod) {
		s.cache.RemovePod(pod)
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.UpdatePodScaleDown}, nil)
		return
	}
	if !assigned(old) {
		s.cache.AddPod(pod)
		s.queue.MoveOnEvent(evAssignedPodAdd, affinityMatches(pod))
		return
	}
	s.cache.UpdatePod(old, pod)
	if !equality.Semantic.DeepEqual(old.Labels, pod.Labels) {
		s.queue.MoveOnEvent(evAssignedPodLabel, nil)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	if assigned(pod) {
		s.cache.RemovePod(pod)
		s.queue.MoveOnEvent(evAssignedPodDelete, nil)
		return
	}
	s.queue.Delete(pod)
	for _, fwk := range s.profiles {
		fwk.RejectWaitingPod(string(pod.UID))
	}
}

// affinityMatches accepts, for a newly placed pod, the pending pods that
// could now fit because of it: those rejected by topology spread, and
// those whose required affinity selects it.
func affinityMatches(added *corev1.Pod) func(*queue.QueuedPodInfo) bool {
	return func(qi *queue.QueuedPodInfo) bool {
		if qi.UnschedulablePlugins.Has("PodTopologySpread") {
			return true
		}
		for i := range qi.RequiredAffinityTerms {
			if qi.RequiredAffinityTerms[i].Matches(added, nil) || qi.RequiredAffinityTerms[i].NamespaceSelector != nil {
				return true
			}
		}
		return false
	}
}

func (s *Scheduler) onNodeAdd(obj any) {
	node := nodeOf(obj)
	if node == nil {
		return
	}
	s.cache.AddNode(node)
	s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add}, nil)
}

func (s *Scheduler) onNodeUpdate(oldObj, newObj any) {
	old, node := nodeOf(oldObj), nodeOf(newObj)
	if old == nil || node == nil {
		return
	}
	s.cache.UpdateNode(old, node)
	if a := nodeChanges(old, node); a != 0 {
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, ActionType: a}, nil)
	}
}

// nodeChanges classifies a node update.
func nodeChanges(old, node *corev1.Node) framework.ActionType {
	var a framework.ActionType
	if !equality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable) {
		a |= framework.UpdateNodeAllocatable
	}
	if !labels.Equals(old.Labels, node.Labels) {
		a |= framework.UpdateNodeLabel
	}
	if old.Spec.Unschedulable != node.Spec.Unschedulable || !equality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) {
		a |= framework.UpdateNodeTaint
	}
	if !equality.Semantic.DeepEqual(old.Status.Images, node.Status.Images) {
		a |= framework.UpdateNodeImages
	}
	return a
}

func (s *Scheduler) onNodeDelete(obj any) {
	node := nodeOf(obj)
	if node == nil {
		return
	}
	s.cache.RemoveNode(node)
	s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Delete}, nil)
}
