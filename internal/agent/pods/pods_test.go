package pods_test

import (
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestPods runs pods through one agent, API server and containerd.
func TestPods(t *testing.T) {
	e := newEnv(t)
	ns := e.namespace(t, "pods")

	t.Run("running pod reaches Ready with its status filled in", func(t *testing.T) {
		pod := busyboxPod(ns, "web", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		}
		pod.Spec.HostAliases = []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"alias.example"}}}
		created := e.createPod(t, pod)
		p := e.waitPod(t, ns, "web", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("phase = %s, want Running", p.Status.Phase)
		}
		if ip := net.ParseIP(p.Status.PodIP); !e.subnet.Contains(ip) || len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != p.Status.PodIP {
			t.Errorf("podIP %q, podIPs %v; want one address in %s", p.Status.PodIP, p.Status.PodIPs, e.subnet)
		}
		if p.Status.HostIP != "127.0.0.1" || len(p.Status.HostIPs) != 1 {
			t.Errorf("hostIP %q hostIPs %v, want 127.0.0.1", p.Status.HostIP, p.Status.HostIPs)
		}
		if p.Status.QOSClass != corev1.PodQOSBurstable || p.Status.StartTime == nil {
			t.Errorf("qosClass %s startTime %v, want Burstable and a start time", p.Status.QOSClass, p.Status.StartTime)
		}
		for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
			if got := condition(p, c); got != corev1.ConditionTrue && !(c == corev1.PodScheduled && got == "") {
				t.Errorf("condition %s = %q, want True", c, got)
			}
		}
		cs := containerStatus(p, "main")
		if cs == nil || cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 0 ||
			!strings.HasPrefix(cs.ContainerID, "containerd://") || cs.ImageID == "" || cs.Image != created.Spec.Containers[0].Image {
			t.Fatalf("container status = %+v", cs)
		}
		hosts := e.exec(t, p, "main", "cat", "/etc/hosts")
		if !strings.Contains(hosts, p.Status.PodIP+"\tweb") || !strings.Contains(hosts, "10.1.2.3\talias.example") {
			t.Errorf("/etc/hosts = %q, want the pod's address and the host alias", hosts)
		}
		resolv := e.exec(t, p, "main", "cat", "/etc/resolv.conf")
		if !strings.Contains(resolv, "nameserver 10.96.0.10") || !strings.Contains(resolv, "search pods.svc.cluster.local svc.cluster.local cluster.local") || !strings.Contains(resolv, "ndots:5") {
			t.Errorf("/etc/resolv.conf = %q, want the cluster DNS", resolv)
		}
		if got := strings.TrimSpace(e.exec(t, p, "main", "hostname")); got != "web" {
			t.Errorf("hostname = %q, want web", got)
		}
	})

	t.Run("crashing container backs off with growing restart count", func(t *testing.T) {
		e.createPod(t, busyboxPod(ns, "crash", corev1.RestartPolicyAlways, "echo dying; exit 3"))
		p := e.waitPod(t, ns, "crash", "CrashLoopBackOff after two restarts", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "main")
			return cs != nil && cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
		})
		cs := containerStatus(p, "main")
		if !strings.Contains(cs.State.Waiting.Message, "back-off") || !strings.Contains(cs.State.Waiting.Message, "restarting failed container=main pod=crash_pods(") {
			t.Errorf("waiting message = %q", cs.State.Waiting.Message)
		}
		if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 3 || lt.Reason != "Error" {
			t.Errorf("lastState = %+v, want terminated with exit code 3 (Error)", cs.LastTerminationState)
		}
		if p.Status.Phase != corev1.PodRunning || condition(p, corev1.PodReady) != corev1.ConditionFalse {
			t.Errorf("phase %s ready %s, want Running and not ready", p.Status.Phase, condition(p, corev1.PodReady))
		}
	})

	t.Run("restartPolicy Never ends in Succeeded or Failed with exit codes", func(t *testing.T) {
		ok := busyboxPod(ns, "succeeds", corev1.RestartPolicyNever, "printf bye > /dev/termination-log; exit 0")
		e.createPod(t, ok)
		bad := busyboxPod(ns, "fails", corev1.RestartPolicyNever, "exit 0")
		bad.Spec.Containers = append(bad.Spec.Containers, busybox("second", "echo last words; exit 7"))
		bad.Spec.Containers[1].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		e.createPod(t, bad)

		p := e.waitPod(t, ns, "succeeds", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if term := containerStatus(p, "main").State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" || term.Message != "bye" {
			t.Errorf("terminated = %+v, want exit 0, Completed, message bye", term)
		}
		if condition(p, corev1.PodReady) != corev1.ConditionFalse {
			t.Errorf("a succeeded pod is Ready")
		}
		p = e.waitPod(t, ns, "fails", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if term := containerStatus(p, "main").State.Terminated; term == nil || term.ExitCode != 0 {
			t.Errorf("main terminated = %+v, want exit 0", term)
		}
		if term := containerStatus(p, "second").State.Terminated; term == nil || term.ExitCode != 7 || term.Message != "last words\n" {
			t.Errorf("second terminated = %+v, want exit 7 with the log as message", term)
		}
		if cs := containerStatus(p, "second"); cs.RestartCount != 0 {
			t.Errorf("restartCount = %d, want 0 with restartPolicy Never", cs.RestartCount)
		}
	})
}
