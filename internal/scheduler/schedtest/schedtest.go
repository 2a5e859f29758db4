// Package schedtest builds pods and nodes for scheduler tests in one line:
//
//	schedtest.MakePod().Name("p").Req("cpu", "500m").Toleration("k", "v", "NoSchedule").Obj()
//	schedtest.MakeNode().Name("n1").Capacity("cpu", "4", "memory", "8Gi", "pods", "110").Obj()
package schedtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ResourceList parses "name", "quantity" pairs.
func ResourceList(pairs ...string) corev1.ResourceList {
	if len(pairs)%2 != 0 {
		panic(fmt.Sprintf("schedtest: odd resource pairs %v", pairs))
	}
	rl := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		rl[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return rl
}

// PodWrapper builds a pod.
type PodWrapper struct{ p corev1.Pod }

// MakePod starts a pod "pod" in namespace "default" for default-scheduler.
func MakePod() *PodWrapper {
	return &PodWrapper{p: corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod", Namespace: "default"},
		Spec:       corev1.PodSpec{SchedulerName: corev1.DefaultSchedulerName},
	}}
}

// RandomPod starts a pod named name on node ("": unbound) for property
// tests: labelled app=a0…a3, in namespace "other" one time in three, with
// a tier label one time in four, terminating one time in eight.
func RandomPod(rng *rand.Rand, name, node string) *PodWrapper {
	w := MakePod().Name(name).Node(node).Label("app", fmt.Sprint("a", rng.IntN(4)))
	if rng.IntN(3) == 0 {
		w = w.Namespace("other")
	}
	if rng.IntN(4) == 0 {
		w = w.Label("tier", fmt.Sprint(rng.IntN(2)))
	}
	if rng.IntN(8) == 0 {
		w = w.Terminating()
	}
	return w
}

// Obj returns the pod; the UID defaults to namespace/name.
func (w *PodWrapper) Obj() *corev1.Pod {
	p := w.p.DeepCopy()
	if p.UID == "" {
		p.UID = types.UID(p.Namespace + "/" + p.Name)
	}
	if len(p.Spec.Containers) == 0 {
		p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	}
	return p
}

// Name sets the name.
func (w *PodWrapper) Name(n string) *PodWrapper { w.p.Name = n; return w }

// Namespace sets the namespace.
func (w *PodWrapper) Namespace(ns string) *PodWrapper { w.p.Namespace = ns; return w }

// UID sets the UID.
func (w *PodWrapper) UID(uid string) *PodWrapper { w.p.UID = types.UID(uid); return w }

// Label adds a label.
func (w *PodWrapper) Label(k, v string) *PodWrapper {
	if w.p.Labels == nil {
		w.p.Labels = map[string]string{}
	}
	w.p.Labels[k] = v
	return w
}

// Priority sets spec.priority.
func (w *PodWrapper) Priority(v int32) *PodWrapper { w.p.Spec.Priority = &v; return w }

// PriorityClass sets spec.priorityClassName (resolved by admission).
func (w *PodWrapper) PriorityClass(name string) *PodWrapper {
	w.p.Spec.PriorityClassName = name
	return w
}

// PreemptNever sets preemptionPolicy Never.
func (w *PodWrapper) PreemptNever() *PodWrapper {
	p := corev1.PreemptNever
	w.p.Spec.PreemptionPolicy = &p
	return w
}

// Node sets spec.nodeName.
func (w *PodWrapper) Node(n string) *PodWrapper { w.p.Spec.NodeName = n; return w }

// NominatedNode sets status.nominatedNodeName.
func (w *PodWrapper) NominatedNode(n string) *PodWrapper { w.p.Status.NominatedNodeName = n; return w }

// SchedulerName sets spec.schedulerName.
func (w *PodWrapper) SchedulerName(n string) *PodWrapper { w.p.Spec.SchedulerName = n; return w }

// Created sets the creation timestamp.
func (w *PodWrapper) Created(t time.Time) *PodWrapper {
	w.p.CreationTimestamp = metav1.NewTime(t)
	return w
}

// StartTime sets status.startTime.
func (w *PodWrapper) StartTime(t time.Time) *PodWrapper {
	mt := metav1.NewTime(t)
	w.p.Status.StartTime = &mt
	return w
}

// Terminating sets a deletion timestamp.
func (w *PodWrapper) Terminating() *PodWrapper {
	now := metav1.Now()
	w.p.DeletionTimestamp = &now
	return w
}

// Phase sets status.phase.
func (w *PodWrapper) Phase(p corev1.PodPhase) *PodWrapper { w.p.Status.Phase = p; return w }

// Req adds an app container requesting the "name", "quantity" pairs.
func (w *PodWrapper) Req(pairs ...string) *PodWrapper {
	return w.Container(corev1.Container{Resources: corev1.ResourceRequirements{Requests: ResourceList(pairs...)}})
}

// ReqLim adds an app container with requests and equal limits (extended
// resources need both).
func (w *PodWrapper) ReqLim(pairs ...string) *PodWrapper {
	return w.Container(corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: ResourceList(pairs...), Limits: ResourceList(pairs...)}})
}

// InitReq adds an init container requesting the pairs.
func (w *PodWrapper) InitReq(pairs ...string) *PodWrapper {
	w.p.Spec.InitContainers = append(w.p.Spec.InitContainers, corev1.Container{
		Name: fmt.Sprintf("init%d", len(w.p.Spec.InitContainers)), Image: "busybox",
		Resources: corev1.ResourceRequirements{Requests: ResourceList(pairs...)}})
	return w
}

// SidecarReq adds a restartable (sidecar) init container requesting the pairs.
func (w *PodWrapper) SidecarReq(pairs ...string) *PodWrapper {
	always := corev1.ContainerRestartPolicyAlways
	w.p.Spec.InitContainers = append(w.p.Spec.InitContainers, corev1.Container{
		Name: fmt.Sprintf("init%d", len(w.p.Spec.InitContainers)), Image: "busybox", RestartPolicy: &always,
		Resources: corev1.ResourceRequirements{Requests: ResourceList(pairs...)}})
	return w
}

// Overhead sets spec.overhead.
func (w *PodWrapper) Overhead(pairs ...string) *PodWrapper {
	w.p.Spec.Overhead = ResourceList(pairs...)
	return w
}

// Container adds an app container (named and given an image if empty).
func (w *PodWrapper) Container(c corev1.Container) *PodWrapper {
	if c.Name == "" {
		c.Name = fmt.Sprintf("c%d", len(w.p.Spec.Containers))
	}
	if c.Image == "" {
		c.Image = "busybox"
	}
	w.p.Spec.Containers = append(w.p.Spec.Containers, c)
	return w
}

// Image adds an app container running image.
func (w *PodWrapper) Image(image string) *PodWrapper {
	return w.Container(corev1.Container{Image: image})
}

// HostPort adds a container with a host port ("" protocol is TCP).
func (w *PodWrapper) HostPort(ip string, proto corev1.Protocol, port int32) *PodWrapper {
	return w.Container(corev1.Container{Ports: []corev1.ContainerPort{{HostIP: ip, Protocol: proto, HostPort: port, ContainerPort: port}}})
}

// NodeSelector adds a nodeSelector entry.
func (w *PodWrapper) NodeSelector(k, v string) *PodWrapper {
	if w.p.Spec.NodeSelector == nil {
		w.p.Spec.NodeSelector = map[string]string{}
	}
	w.p.Spec.NodeSelector[k] = v
	return w
}

func (w *PodWrapper) affinity() *corev1.Affinity {
	if w.p.Spec.Affinity == nil {
		w.p.Spec.Affinity = &corev1.Affinity{}
	}
	return w.p.Spec.Affinity
}

// NodeAffinity adds a required node selector term with one expression.
func (w *PodWrapper) NodeAffinity(key string, op corev1.NodeSelectorOperator, vals ...string) *PodWrapper {
	a := w.affinity()
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	if a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	ns := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	ns.NodeSelectorTerms = append(ns.NodeSelectorTerms, corev1.NodeSelectorTerm{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}})
	return w
}

// PreferredNodeAffinity adds a preferred node affinity term.
func (w *PodWrapper) PreferredNodeAffinity(weight int32, key string, op corev1.NodeSelectorOperator, vals ...string) *PodWrapper {
	a := w.affinity()
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.PreferredSchedulingTerm{Weight: weight, Preference: corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}})
	return w
}

// Toleration adds a toleration; an empty value means operator Exists.
func (w *PodWrapper) Toleration(key, value string, effect corev1.TaintEffect) *PodWrapper {
	t := corev1.Toleration{Key: key, Value: value, Effect: effect, Operator: corev1.TolerationOpEqual}
	if value == "" {
		t.Operator = corev1.TolerationOpExists
	}
	w.p.Spec.Tolerations = append(w.p.Spec.Tolerations, t)
	return w
}

// PodAffinityTerm is a term selecting pods with label k=v.
func PodAffinityTerm(topologyKey, k, v string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: topologyKey,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}}
}

// PodAffinity adds a required pod affinity term.
func (w *PodWrapper) PodAffinity(t corev1.PodAffinityTerm) *PodWrapper {
	a := w.affinity()
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return w
}

// PodAntiAffinity adds a required pod anti-affinity term.
func (w *PodWrapper) PodAntiAffinity(t corev1.PodAffinityTerm) *PodWrapper {
	a := w.affinity()
	if a.PodAntiAffinity == nil {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return w
}

// PreferredPodAffinity adds a preferred pod affinity term.
func (w *PodWrapper) PreferredPodAffinity(weight int32, t corev1.PodAffinityTerm) *PodWrapper {
	a := w.affinity()
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return w
}

// PreferredPodAntiAffinity adds a preferred pod anti-affinity term.
func (w *PodWrapper) PreferredPodAntiAffinity(weight int32, t corev1.PodAffinityTerm) *PodWrapper {
	a := w.affinity()
	if a.PodAntiAffinity == nil {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return w
}

// Spread adds a topology spread constraint selecting pods with label k=v.
func (w *PodWrapper) Spread(maxSkew int32, topologyKey string, when corev1.UnsatisfiableConstraintAction, k, v string) *PodWrapper {
	w.p.Spec.TopologySpreadConstraints = append(w.p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
		MaxSkew: maxSkew, TopologyKey: topologyKey, WhenUnsatisfiable: when,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}})
	return w
}

// SpreadConstraint adds a full topology spread constraint.
func (w *PodWrapper) SpreadConstraint(c corev1.TopologySpreadConstraint) *PodWrapper {
	w.p.Spec.TopologySpreadConstraints = append(w.p.Spec.TopologySpreadConstraints, c)
	return w
}

// OwnedBy sets a controller owner reference.
func (w *PodWrapper) OwnedBy(kind, name string) *PodWrapper {
	yes := true
	w.p.OwnerReferences = append(w.p.OwnerReferences, metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(kind + "-" + name), Controller: &yes})
	return w
}

// NodeWrapper builds a node.
type NodeWrapper struct{ n corev1.Node }

// MakeNode starts a node "node" with hostname label.
func MakeNode() *NodeWrapper {
	return &NodeWrapper{n: corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node"}}}
}

// Obj returns the node; the hostname label defaults to the name.
func (w *NodeWrapper) Obj() *corev1.Node {
	n := w.n.DeepCopy()
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if _, ok := n.Labels[corev1.LabelHostname]; !ok {
		n.Labels[corev1.LabelHostname] = n.Name
	}
	if n.UID == "" {
		n.UID = types.UID("node-" + n.Name)
	}
	return n
}

// Name sets the name.
func (w *NodeWrapper) Name(n string) *NodeWrapper { w.n.Name = n; return w }

// Capacity sets capacity and allocatable from "name", "quantity" pairs.
func (w *NodeWrapper) Capacity(pairs ...string) *NodeWrapper {
	w.n.Status.Capacity = ResourceList(pairs...)
	w.n.Status.Allocatable = ResourceList(pairs...)
	return w
}

// Label adds a label.
func (w *NodeWrapper) Label(k, v string) *NodeWrapper {
	if w.n.Labels == nil {
		w.n.Labels = map[string]string{}
	}
	w.n.Labels[k] = v
	return w
}

// Zone sets the zone label.
func (w *NodeWrapper) Zone(z string) *NodeWrapper { return w.Label(corev1.LabelTopologyZone, z) }

// Taint adds a taint.
func (w *NodeWrapper) Taint(key, value string, effect corev1.TaintEffect) *NodeWrapper {
	w.n.Spec.Taints = append(w.n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	return w
}

// Unschedulable sets spec.unschedulable.
func (w *NodeWrapper) Unschedulable() *NodeWrapper { w.n.Spec.Unschedulable = true; return w }

// Image adds an image of size bytes known by the given names.
func (w *NodeWrapper) Image(size int64, names ...string) *NodeWrapper {
	w.n.Status.Images = append(w.n.Status.Images, corev1.ContainerImage{Names: names, SizeBytes: size})
	return w
}
