package pods_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// TestPods runs pods through one agent, API server and containerd.
func TestPods(t *testing.T) {
	e := newEnv(t, true)
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

		// Nothing changes, so syncs send nothing: the status read back from
		// the API equals what the agent computes (timestamps are kept to
		// the second, as stored), and a write just made is not repeated
		// while the informer catches up.
		before := e.statusUpdates(t)
		for range 10 {
			e.mgr.Kick(p.UID)
			time.Sleep(200 * time.Millisecond)
		}
		if n := e.statusUpdates(t) - before; n != 0 {
			t.Errorf("syncs of an unchanged pod sent %d status updates, want none", n)
		}
	})

	t.Run("a dead sandbox is re-created and its containers restarted", func(t *testing.T) {
		e.createPod(t, busyboxPod(ns, "phoenix", corev1.RestartPolicyAlways, "exec sleep 3600"))
		before := e.waitPod(t, ns, "phoenix", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sandboxes, err := e.node.Client.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(before.UID)}})
		if err != nil || len(sandboxes) != 1 {
			t.Fatalf("sandboxes of the pod: %d, %v", len(sandboxes), err)
		}
		if err := e.node.Client.StopPodSandbox(ctx, sandboxes[0].GetId()); err != nil {
			t.Fatal(err)
		}
		after := e.waitPod(t, ns, "phoenix", "Ready again after a restart", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "main")
			return cs != nil && cs.RestartCount == 1 && cs.Ready && condition(p, corev1.PodReady) == corev1.ConditionTrue
		})
		if containerStatus(after, "main").ContainerID == containerStatus(before, "main").ContainerID || !e.subnet.Contains(net.ParseIP(after.Status.PodIP)) {
			t.Errorf("after the sandbox died: %s (podIP %s)", statusString(after), after.Status.PodIP)
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

// TestContainerOrder covers init containers, sidecars and graceful
// deletion.
func TestContainerOrder(t *testing.T) {
	e := newEnv(t, false)
	ns := e.namespace(t, "order")

	t.Run("init containers run in order before app containers", func(t *testing.T) {
		pod := busyboxPod(ns, "inits", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.HostNetwork = true
		pod.Spec.InitContainers = []corev1.Container{busybox("first", "exit 0"), busybox("second", "exit 0")}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "inits", "Running", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodInitialized) == corev1.ConditionTrue
		})
		var statuses []*runtimeapi.ContainerStatus
		for _, name := range []string{"first", "second", "main"} {
			cs := containerStatus(p, name)
			if name != "main" && (cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || !cs.Ready) {
				t.Errorf("init container %s = %+v, want terminated with 0 and ready", name, cs)
			}
			statuses = append(statuses, e.criStatus(t, cs.ContainerID))
		}
		if statuses[1].GetCreatedAt() < statuses[0].GetFinishedAt() || statuses[2].GetCreatedAt() < statuses[1].GetFinishedAt() {
			t.Errorf("containers overlap: first finished %d, second created %d finished %d, main created %d",
				statuses[0].GetFinishedAt(), statuses[1].GetCreatedAt(), statuses[1].GetFinishedAt(), statuses[2].GetCreatedAt())
		}
	})

	t.Run("failing init container with restartPolicy Never fails the pod", func(t *testing.T) {
		pod := busyboxPod(ns, "badinit", corev1.RestartPolicyNever, "exec sleep 3600")
		pod.Spec.HostNetwork = true
		pod.Spec.InitContainers = []corev1.Container{busybox("setup", "exit 4")}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "badinit", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if term := containerStatus(p, "setup").State.Terminated; term == nil || term.ExitCode != 4 {
			t.Errorf("setup = %+v, want exit 4", containerStatus(p, "setup"))
		}
		if cs := containerStatus(p, "main"); cs.ContainerID != "" || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
			t.Errorf("main = %+v, want never started (PodInitializing)", cs)
		}
	})

	t.Run("sidecar runs alongside the app and stops when the pod completes", func(t *testing.T) {
		pod := busyboxPod(ns, "sidecar", corev1.RestartPolicyNever, "ps | grep -q '[s]leep 3600'")
		pod.Spec.HostNetwork = true
		pod.Spec.ShareProcessNamespace = ptr(true)
		side := busybox("helper", "exec sleep 3600")
		side.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		pod.Spec.InitContainers = []corev1.Container{side}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "sidecar", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if term := containerStatus(p, "main").State.Terminated; term == nil || term.ExitCode != 0 {
			t.Errorf("main = %+v, want exit 0 (it saw the sidecar running)", containerStatus(p, "main"))
		}
		e.waitPod(t, ns, "sidecar", "the sidecar stopped", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "helper")
			return cs != nil && cs.State.Terminated != nil
		})
	})

	t.Run("ephemeral container joins the target's process namespace", func(t *testing.T) {
		pod := busyboxPod(ns, "debugged", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.HostNetwork = true
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "debugged", "Running", func(p *corev1.Pod) bool { return isRunning(p, "main") })
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{
			TargetContainerName: "main",
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debugger", Image: images.BusyboxImageRef, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:                  []string{"sh", "-c", "ps | grep -q '[s]leep 3600' && exec sleep 3600"},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			},
		}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.client.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, "debugged", p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("add ephemeral container: %v", err)
		}
		p = e.waitPod(t, ns, "debugged", "the debugger running", func(p *corev1.Pod) bool { return isRunning(p, "debugger") })
		if len(p.Status.EphemeralContainerStatuses) != 1 || !isRunning(p, "main") || containerStatus(p, "main").RestartCount != 0 {
			t.Errorf("status after debugging: %s", statusString(p))
		}
	})

	t.Run("deletion runs preStop, sends SIGTERM and removes the pod", func(t *testing.T) {
		shared := filepath.Join(e.dir, "shared")
		if err := os.MkdirAll(shared, 0o777); err != nil {
			t.Fatal(err)
		}
		pod := busyboxPod(ns, "graceful", corev1.RestartPolicyAlways,
			"trap 'echo TERM >> /shared/log; exit 0' TERM; echo started >> /shared/log; while :; do sleep 1; done")
		pod.Spec.HostNetwork = true
		pod.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: shared}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo preStop >> /shared/log"}},
		}}
		created := e.createPod(t, pod)
		e.waitPod(t, ns, "graceful", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.client.CoreV1().Pods(ns).Delete(ctx, "graceful", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		crinode.WaitFor(t, 2*time.Minute, "the pod object to be removed", func(ctx context.Context) (bool, error) {
			_, err := e.client.CoreV1().Pods(ns).Get(ctx, "graceful", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		b, err := os.ReadFile(filepath.Join(shared, "log"))
		if err != nil || string(b) != "started\npreStop\nTERM\n" {
			t.Errorf("log = %q, %v; want started, preStop, TERM in that order", b, err)
		}
		left, err := e.node.Client.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(created.UID)}})
		if err != nil || len(left) != 0 {
			t.Errorf("sandboxes left after deletion: %d, %v", len(left), err)
		}
	})
}

// criStatus is the runtime's status of a container.
func (e *env) criStatus(t *testing.T, containerID string) *runtimeapi.ContainerStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := e.node.Client.ContainerStatus(ctx, strings.TrimPrefix(containerID, "containerd://"))
	if err != nil {
		t.Fatalf("ContainerStatus(%s): %v", containerID, err)
	}
	return st
}
