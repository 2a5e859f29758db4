package core

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var (
	podDocs       = corev1.PodSpec{}.SwaggerDoc()
	podStatusDocs = corev1.PodStatus{}.SwaggerDoc()
)

var podTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
		{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
		{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		registry.AgeColumn,
		{Name: "IP", Type: "string", Priority: 1, Description: podStatusDocs["podIP"]},
		{Name: "Node", Type: "string", Priority: 1, Description: podDocs["nodeName"]},
		{Name: "Nominated Node", Type: "string", Priority: 1, Description: podStatusDocs["nominatedNodeName"]},
		{Name: "Readiness Gates", Type: "string", Priority: 1, Description: podDocs["readinessGates"]},
	},
	Cells: func(obj runtime.Object, now time.Time) []interface{} {
		p := obj.(*corev1.Pod)
		s := summarizePod(p)
		restarts := strconv.Itoa(s.restarts)
		if s.restarts != 0 && !s.lastRestart.IsZero() {
			restarts = fmt.Sprintf("%d (%s ago)", s.restarts, registry.Age(s.lastRestart, now))
		}
		ip := ""
		if len(p.Status.PodIPs) > 0 {
			ip = p.Status.PodIPs[0].IP
		}
		return []interface{}{
			fmt.Sprintf("%d/%d", s.ready, s.total),
			s.reason,
			restarts,
			registry.Age(p.CreationTimestamp, now),
			registry.StringOr(ip, "<none>"),
			registry.StringOr(p.Spec.NodeName, "<none>"),
			registry.StringOr(p.Status.NominatedNodeName, "<none>"),
			readinessGates(p),
		}
	},
	Conditions: func(obj runtime.Object) []metav1.TableRowCondition {
		switch obj.(*corev1.Pod).Status.Phase {
		case corev1.PodSucceeded:
			return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
				Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
		case corev1.PodFailed:
			return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
				Reason: string(corev1.PodFailed), Message: "The pod failed."}}
		}
		return nil
	},
}

// readinessGates is the READINESS GATES cell: how many of the pod's gates
// have a True condition, or <none>.
func readinessGates(p *corev1.Pod) string {
	if len(p.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	ok := 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType {
				if c.Status == corev1.ConditionTrue {
					ok++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", ok, len(p.Spec.ReadinessGates))
}

// podSummary is what the READY, STATUS and RESTARTS cells say about a pod.
type podSummary struct {
	ready, total int
	reason       string
	// restarts counts the restarts of the containers that matter in the
	// pod's current stage; lastRestart is when the latest of them ended.
	restarts    int
	lastRestart metav1.Time
}

// PodStatusReason is the STATUS column users know from kubectl get pods:
// the phase, refined by init progress and container waiting/terminated
// reasons (ContainerCreating, CrashLoopBackOff, Init:0/1, Completed,
// Terminating, ...).
func PodStatusReason(p *corev1.Pod) string { return summarizePod(p).reason }

// summarizePod walks the init containers (until the first unfinished one)
// and then the app containers, the way kubectl users expect a pod to read.
// Sidecars (restartable init containers) count as app containers for READY
// and RESTARTS.
func summarizePod(p *corev1.Pod) podSummary {
	s := podSummary{total: len(p.Spec.Containers), reason: string(p.Status.Phase)}
	if p.Status.Reason != "" {
		s.reason = p.Status.Reason
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.reason = corev1.PodReasonSchedulingGated
		}
	}
	sidecars := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
			s.total++
		}
	}

	// Init stage: all init restarts count while the pod initializes; only
	// sidecar restarts count once it runs.
	var sidecarRestarts int
	var sidecarLast metav1.Time
	initializing := false
	for i, cs := range p.Status.InitContainerStatuses {
		s.restarts += int(cs.RestartCount)
		s.lastRestart = later(s.lastRestart, cs)
		if sidecars[cs.Name] {
			sidecarRestarts += int(cs.RestartCount)
			sidecarLast = later(sidecarLast, cs)
		}
		if cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0 {
			continue
		}
		if sidecars[cs.Name] && cs.Started != nil && *cs.Started {
			if cs.Ready {
				s.ready++
			}
			continue
		}
		s.reason, initializing = initReason(cs, i, len(p.Spec.InitContainers)), true
		break
	}
	if initializing && !hasCondition(p, corev1.PodInitialized) {
		return terminating(p, s)
	}

	// App stage, last container first so the first one's reason wins.
	s.restarts, s.lastRestart = sidecarRestarts, sidecarLast
	running := false
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		cs := p.Status.ContainerStatuses[i]
		s.restarts += int(cs.RestartCount)
		s.lastRestart = later(s.lastRestart, cs)
		switch t := cs.State.Terminated; {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			s.reason = cs.State.Waiting.Reason
		case t != nil && t.Reason != "":
			s.reason = t.Reason
		case t != nil && t.Signal != 0:
			s.reason = fmt.Sprintf("Signal:%d", t.Signal)
		case t != nil:
			s.reason = fmt.Sprintf("ExitCode:%d", t.ExitCode)
		case cs.Ready && cs.State.Running != nil:
			running = true
			s.ready++
		}
	}
	// A pod whose first container completed but another still runs is
	// Running (or NotReady), not Completed.
	if s.reason == "Completed" && running {
		s.reason = "NotReady"
		if hasCondition(p, corev1.PodReady) {
			s.reason = "Running"
		}
	}
	return terminating(p, s)
}

// initReason is the STATUS of a pod stuck at init container i of n.
func initReason(cs corev1.ContainerStatus, i, n int) string {
	switch t := cs.State.Terminated; {
	case t != nil && t.Reason != "":
		return "Init:" + t.Reason
	case t != nil && t.Signal != 0:
		return fmt.Sprintf("Init:Signal:%d", t.Signal)
	case t != nil:
		return fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
	case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
		return "Init:" + cs.State.Waiting.Reason
	}
	return fmt.Sprintf("Init:%d/%d", i, n)
}

// terminating overrides the reason of a pod being deleted.
func terminating(p *corev1.Pod, s podSummary) podSummary {
	if p.DeletionTimestamp == nil {
		return s
	}
	switch {
	case p.Status.Reason == "NodeLost":
		s.reason = "Unknown"
	case p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed:
		s.reason = "Terminating"
	}
	return s
}

// later returns the later of t and when cs last terminated.
func later(t metav1.Time, cs corev1.ContainerStatus) metav1.Time {
	if last := cs.LastTerminationState.Terminated; last != nil && t.Before(&last.FinishedAt) {
		return last.FinishedAt
	}
	return t
}

func hasCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
