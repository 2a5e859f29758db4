package pods

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
)

// admission tracks the pods the node accepted, so a new pod is checked
// against them (the scheduler may have been wrong, or bypassed by a pod
// created with spec.nodeName).
type admission struct {
	// admitted is guarded by Manager.admitMu.
	admitted map[types.UID]bool
}

// admit decides, once, whether the node can run a pod that has not started
// yet; it returns the kubelet's reason and message when it cannot.
func (m *Manager) admit(ctx context.Context, pod *corev1.Pod, started bool) (reason, message string) {
	m.admitMu.Lock()
	done := m.admission.admitted[pod.UID]
	if !done && (started || pod.Status.Phase != corev1.PodPending || m.isStatic(pod.UID)) {
		m.admission.admitted[pod.UID] = true
		done = true
	}
	m.admitMu.Unlock()
	if done {
		return "", ""
	}
	// The node is read outside the lock: pods started together are
	// admitted one after another, and a request each would space them out.
	node, err := m.node(ctx)
	m.admitMu.Lock()
	defer m.admitMu.Unlock()
	if m.admission.admitted[pod.UID] {
		return "", ""
	}
	if err != nil {
		// Without the node object there is nothing to judge by; the
		// scheduler's decision stands.
		m.admission.admitted[pod.UID] = true
		return "", ""
	}
	if !plugins.NewRequiredNodeAffinity(pod).Match(node) {
		return "NodeAffinity", "Pod was rejected: Predicate NodeAffinity failed"
	}
	allocatable := m.o.NodeAllocatable()
	if allocatable == nil {
		allocatable = node.Status.Allocatable
	}
	var used framework.Resource
	others, _ := m.lister.List(labels.Everything())
	for _, p := range others {
		if p.UID == pod.UID || isTerminal(p.Status.Phase) || !(m.admission.admitted[p.UID] || p.Status.Phase == corev1.PodRunning) {
			continue
		}
		r := framework.PodRequests(p, nil)
		used.AddResource(&r)
	}
	want := framework.PodRequests(pod, nil)
	checks := []struct {
		name             corev1.ResourceName
		want, used, have int64
	}{
		{corev1.ResourceCPU, want.MilliCPU, used.MilliCPU, milli(allocatable, corev1.ResourceCPU)},
		{corev1.ResourceMemory, want.Memory, used.Memory, value(allocatable, corev1.ResourceMemory)},
	}
	for _, c := range checks {
		if c.have >= 0 && c.want > 0 && c.want+c.used > c.have {
			return "OutOf" + string(c.name), fmt.Sprintf("Pod was rejected: Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", c.name, c.want, c.used, c.have)
		}
	}
	m.admission.admitted[pod.UID] = true
	return "", ""
}

// node is this node's object: the latest one the agent saw, or one read
// from the API when it has seen none.
func (m *Manager) node(ctx context.Context) (*corev1.Node, error) {
	if m.o.Node != nil {
		if n := m.o.Node(); n != nil {
			return n, nil
		}
	}
	return m.o.Client.CoreV1().Nodes().Get(ctx, m.o.NodeName, metav1.GetOptions{})
}

// forget drops pod uid from the admitted pods.
func (m *Manager) forgetAdmitted(uid types.UID) {
	m.admitMu.Lock()
	defer m.admitMu.Unlock()
	delete(m.admission.admitted, uid)
}

// milli and value read a quantity of rl, -1 when absent.
func milli(rl corev1.ResourceList, name corev1.ResourceName) int64 {
	if q, ok := rl[name]; ok {
		return q.MilliValue()
	}
	return -1
}

func value(rl corev1.ResourceList, name corev1.ResourceName) int64 {
	if q, ok := rl[name]; ok {
		return q.Value()
	}
	return -1
}

// reject marks pod Failed with reason and message.
func (w *podWorker) reject(pod *corev1.Pod, reason, msg string) {
	w.terminal = true
	w.m.event(pod, nil, corev1.EventTypeWarning, reason, msg)
	status := *pod.Status.DeepCopy()
	status.Phase, status.Reason, status.Message = corev1.PodFailed, reason, msg
	if status.StartTime == nil {
		t := now()
		status.StartTime = &t
	}
	w.rejected = &status
	w.m.setStatus(pod, status)
}
