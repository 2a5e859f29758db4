package core

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var podTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
		{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
		{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
		{Name: "IP", Type: "string", Priority: 1, Description: "IP address allocated to the pod. Routable at least within the cluster."},
		{Name: "Node", Type: "string", Priority: 1, Description: "NodeName is the node the pod is scheduled on."},
		{Name: "Nominated Node", Type: "string", Priority: 1, Description: "nominatedNodeName is set when this pod preempts other pods on the node."},
		{Name: "Readiness Gates", Type: "string", Priority: 1, Description: "If specified, all readiness gates will be evaluated for pod readiness."},
	},
	Cells: func(obj runtime.Object, now time.Time) []interface{} {
		p := obj.(*corev1.Pod)
		ready, restarts := 0, 0
		for _, cs := range p.Status.ContainerStatuses {
			restarts += int(cs.RestartCount)
			if cs.Ready {
				ready++
			}
		}
		return []interface{}{
			fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)),
			PodStatusReason(p),
			fmt.Sprintf("%d", restarts),
			registry.Age(p.CreationTimestamp, now),
			orNone(p.Status.PodIP),
			orNone(p.Spec.NodeName),
			orNone(p.Status.NominatedNodeName),
			readinessGates(p),
		}
	},
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func readinessGates(p *corev1.Pod) string {
	if len(p.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	ok := 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ok++
			}
		}
	}
	return fmt.Sprintf("%d/%d", ok, len(p.Spec.ReadinessGates))
}

// PodStatusReason is the STATUS column users know from kubectl get pods:
// the phase, refined by init progress and container waiting/terminated
// reasons (ContainerCreating, CrashLoopBackOff, Init:0/1, Completed,
// Terminating, ...).
func PodStatusReason(p *corev1.Pod) string {
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	initializing := false
	for i, cs := range p.Status.InitContainerStatuses {
		if r, done := initReason(cs, i, len(p.Spec.InitContainers)); !done {
			reason, initializing = r, true
			break
		}
	}
	if !initializing {
		reason = containersReason(p, reason)
	}
	if p.DeletionTimestamp != nil {
		if p.Status.Reason == "NodeLost" {
			return "Unknown"
		}
		return "Terminating"
	}
	return reason
}

// initReason reports the reason of an unfinished init container.
func initReason(cs corev1.ContainerStatus, i, n int) (string, bool) {
	switch {
	case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
		return "", true
	case cs.State.Terminated != nil:
		if cs.State.Terminated.Reason != "" {
			return "Init:" + cs.State.Terminated.Reason, false
		}
		if cs.State.Terminated.Signal != 0 {
			return fmt.Sprintf("Init:Signal:%d", cs.State.Terminated.Signal), false
		}
		return fmt.Sprintf("Init:ExitCode:%d", cs.State.Terminated.ExitCode), false
	case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
		return "Init:" + cs.State.Waiting.Reason, false
	case cs.Started != nil && *cs.Started && cs.State.Running != nil:
		// A running sidecar (restartable init container) counts as done.
		return "", true
	}
	return fmt.Sprintf("Init:%d/%d", i, n), false
}

func containersReason(p *corev1.Pod, reason string) string {
	hasRunning := false
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		cs := p.Status.ContainerStatuses[i]
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			reason = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
			reason = cs.State.Terminated.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Signal != 0:
			reason = fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
		case cs.State.Terminated != nil:
			reason = fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
		case cs.Ready && cs.State.Running != nil:
			hasRunning = true
		}
	}
	if reason == "Completed" && hasRunning {
		reason = "Running"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
				reason = "NotReady"
			}
		}
	}
	return reason
}
