package pods_test

import (
	"context"
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

// TestPodFeatures covers configuration errors, images, probes, OOM kills
// and an agent restart, on one host-network agent.
func TestPodFeatures(t *testing.T) {
	e := newEnv(t, false)
	ns := e.namespace(t, "features")
	hostPod := func(name string, restart corev1.RestartPolicy, script string) *corev1.Pod {
		p := busyboxPod(ns, name, restart, script)
		p.Spec.HostNetwork = true
		return p
	}
	waitReason := func(t *testing.T, name, container, reason string) *corev1.ContainerStatus {
		t.Helper()
		p := e.waitPod(t, ns, name, "waiting reason "+reason, func(p *corev1.Pod) bool {
			cs := containerStatus(p, container)
			return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason
		})
		return containerStatus(p, container)
	}

	t.Run("missing ConfigMap is CreateContainerConfigError until it exists", func(t *testing.T) {
		pod := hostPod("needs-config", corev1.RestartPolicyAlways, "echo $GREETING; exec sleep 3600")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "greeting"},
		}}}
		e.createPod(t, pod)
		cs := waitReason(t, "needs-config", "main", "CreateContainerConfigError")
		if cs.State.Waiting.Message != `configmap "settings" not found` {
			t.Errorf("message = %q, want the kubelet's", cs.State.Waiting.Message)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"greeting": "hello"}}
		if _, err := e.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := e.waitPod(t, ns, "needs-config", "Running", func(p *corev1.Pod) bool { return isRunning(p, "main") })
		if got := e.exec(t, p, "main", "sh", "-c", "echo $GREETING"); got != "hello\n" {
			t.Errorf("GREETING = %q, want hello", got)
		}
	})

	t.Run("runAsNonRoot refuses an image running as root", func(t *testing.T) {
		pod := hostPod("nonroot", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
		created := e.createPod(t, pod)
		cs := waitReason(t, "nonroot", "main", "CreateContainerConfigError")
		want := `container has runAsNonRoot and image will run as root (pod: "nonroot_features(` + string(created.UID) + `)", container: main)`
		if cs.State.Waiting.Message != want {
			t.Errorf("message = %q, want %q", cs.State.Waiting.Message, want)
		}
	})

	t.Run("image errors", func(t *testing.T) {
		never := hostPod("never-pull", corev1.RestartPolicyAlways, "true")
		never.Spec.Containers[0].Image, never.Spec.Containers[0].ImagePullPolicy = "skiff.local/absent:1", corev1.PullNever
		e.createPod(t, never)
		unreachable := hostPod("bad-registry", corev1.RestartPolicyAlways, "true")
		unreachable.Spec.Containers[0].Image = "127.0.0.1:1/absent:1"
		e.createPod(t, unreachable)
		cs := waitReason(t, "never-pull", "main", "ErrImageNeverPull")
		if !strings.Contains(cs.State.Waiting.Message, "is not present with pull policy of Never") {
			t.Errorf("message = %q", cs.State.Waiting.Message)
		}
		waitReason(t, "bad-registry", "main", "ImagePullBackOff")
	})

	t.Run("OOM-killed container reports OOMKilled", func(t *testing.T) {
		pod := hostPod("oom", corev1.RestartPolicyNever, "head -c 300m /dev/zero | tail")
		pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "oom", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if term := containerStatus(p, "main").State.Terminated; term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
			t.Errorf("terminated = %+v, want OOMKilled with exit code 137", term)
		}
	})

	t.Run("probes gate readiness and restart on liveness failure", func(t *testing.T) {
		pod := hostPod("probed", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-e", "/tmp/ready"}}},
			PeriodSeconds: 1, FailureThreshold: 1,
		}
		pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "!", "-e", "/tmp/die"}}},
			PeriodSeconds: 1, FailureThreshold: 1,
		}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "probed", "running and not ready", func(p *corev1.Pod) bool {
			return isRunning(p, "main") && condition(p, corev1.PodReady) == corev1.ConditionFalse
		})
		e.exec(t, p, "main", "touch", "/tmp/ready")
		p = e.waitPod(t, ns, "probed", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
		e.exec(t, p, "main", "touch", "/tmp/die")
		e.waitPod(t, ns, "probed", "a restart after the liveness failure", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "main")
			return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil
		})
	})

	t.Run("a changed image replaces the container", func(t *testing.T) {
		const tiny = "skiff.local/tiny:1"
		e.node.ImportTarball(t, "tiny.tar", func(w *os.File) error {
			bb, err := images.HostFile(images.BusyboxPath, "/bin/busybox")
			if err != nil {
				return err
			}
			return images.Build(w, tiny, []images.File{bb}, images.ImageConfig{User: "1000"})
		})
		pod := hostPod("upgrade", corev1.RestartPolicyAlways, "")
		pod.Spec.Containers[0].Command = []string{"/bin/busybox", "sleep", "3600"}
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000))}
		// (runAsNonRoot passes: the user is 1000 before and after)
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "upgrade", "Running", func(p *corev1.Pod) bool { return isRunning(p, "main") })
		p.Spec.Containers[0].Image = tiny
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update image: %v", err)
		}
		e.waitPod(t, ns, "upgrade", "the new image running", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "main")
			return cs != nil && cs.Image == tiny && cs.RestartCount == 1 && cs.State.Running != nil
		})
	})

	t.Run("readiness gates hold Ready until their condition is True", func(t *testing.T) {
		pod := hostPod("gated", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
		e.createPod(t, pod)
		p := e.waitPod(t, ns, "gated", "containers ready", func(p *corev1.Pod) bool { return condition(p, corev1.ContainersReady) == corev1.ConditionTrue })
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && (c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady") {
				t.Errorf("Ready = %+v, want False for ReadinessGatesNotReady", c)
			}
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/lb-ready", Status: corev1.ConditionTrue})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("set the gate: %v", err)
		}
		p = e.waitPod(t, ns, "gated", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
		if condition(p, "example.com/lb-ready") != corev1.ConditionTrue {
			t.Errorf("the agent dropped the gate's condition: %v", p.Status.Conditions)
		}
	})

	t.Run("agent restart keeps healthy containers and repairs the rest", func(t *testing.T) {
		pod := hostPod("survivor", corev1.RestartPolicyAlways, "exec sleep 3600")
		pod.Spec.Containers = append(pod.Spec.Containers, busybox("quitter", "trap 'exit 5' TERM; while :; do sleep 1; done"))
		e.createPod(t, pod)
		before := e.waitPod(t, ns, "survivor", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
		e.stopManager()
		quitter := strings.TrimPrefix(containerStatus(before, "quitter").ContainerID, "containerd://")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.node.Client.ExecSync(ctx, quitter, []string{"kill", "-TERM", "1"}, 30*time.Second); err != nil {
			t.Fatalf("kill: %v", err)
		}
		crinode.WaitFor(t, time.Minute, "quitter to exit", func(ctx context.Context) (bool, error) {
			st, err := e.node.Client.ContainerStatus(ctx, quitter)
			return st.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED, err
		})
		e.startManager()
		after := e.waitPod(t, ns, "survivor", "quitter restarted by the new agent", func(p *corev1.Pod) bool {
			cs := containerStatus(p, "quitter")
			return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil && condition(p, corev1.PodReady) == corev1.ConditionTrue
		})
		keep, was := containerStatus(after, "main"), containerStatus(before, "main")
		if keep.ContainerID != was.ContainerID || keep.RestartCount != 0 || keep.State.Running == nil || !keep.Ready {
			t.Errorf("main after the restart = %+v, want the same running container (%s)", keep, was.ContainerID)
		}
		if lt := containerStatus(after, "quitter").LastTerminationState.Terminated; lt == nil || lt.ExitCode != 5 {
			t.Errorf("quitter lastState = %+v, want exit code 5", lt)
		}
		if after.Status.Phase != corev1.PodRunning || !after.Status.StartTime.Equal(before.Status.StartTime) {
			t.Errorf("phase %s startTime %v, want Running since %v", after.Status.Phase, after.Status.StartTime, before.Status.StartTime)
		}
	})
}

// TestNodeAdmission checks that the agent refuses pods the node cannot run.
func TestNodeAdmission(t *testing.T) {
	e := newEnv(t, false)
	ns := e.namespace(t, "admission")
	big := busyboxPod(ns, "too-big", corev1.RestartPolicyAlways, "exec sleep 3600")
	big.Spec.HostNetwork = true
	big.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}
	e.createPod(t, big)
	picky := busyboxPod(ns, "picky", corev1.RestartPolicyAlways, "exec sleep 3600")
	picky.Spec.HostNetwork = true
	picky.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	e.createPod(t, picky)
	fits := busyboxPod(ns, "fits", corev1.RestartPolicyAlways, "exec sleep 3600")
	fits.Spec.HostNetwork = true
	fits.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}
	e.createPod(t, fits)
	e.waitPod(t, ns, "fits", "Running", func(p *corev1.Pod) bool { return isRunning(p, "main") })

	tests := []struct{ name, wantReason, wantMessage string }{
		{"too-big", "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: "},
		{"picky", "NodeAffinity", "Pod was rejected: Predicate NodeAffinity failed"},
	}
	for _, tc := range tests {
		p := e.waitPod(t, ns, tc.name, "rejected", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if p.Status.Reason != tc.wantReason || !strings.HasPrefix(p.Status.Message, tc.wantMessage) {
			t.Errorf("%s: reason %q message %q, want %q %q…", tc.name, p.Status.Reason, p.Status.Message, tc.wantReason, tc.wantMessage)
		}
	}
	// A second pod that no longer fits next to the first.
	second := fits.DeepCopy()
	second.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "fits-no-more"}
	e.createPod(t, second)
	p := e.waitPod(t, ns, "fits-no-more", "rejected", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if want := "Pod was rejected: Node didn't have enough resource: cpu, requested: 1500, used: 1500, capacity: 2000"; p.Status.Message != want {
		t.Errorf("message %q, want %q", p.Status.Message, want)
	}
}

// TestStaticPods runs a pod from a manifest file, mirrored in the API.
func TestStaticPods(t *testing.T) {
	e := newEnv(t, false)
	dir := filepath.Join(e.dir, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: default
  labels: {app: static}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ` + images.BusyboxImageRef + `
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "static-web-" + nodeName
	p := e.waitPod(t, "default", name, "the mirror pod Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
	if p.Annotations["kubernetes.io/config.mirror"] == "" || p.Annotations["kubernetes.io/config.source"] != "file" {
		t.Errorf("mirror annotations = %v", p.Annotations)
	}
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "Node" || p.OwnerReferences[0].Name != nodeName {
		t.Errorf("mirror owner = %+v, want the node", p.OwnerReferences)
	}
	if p.Labels["app"] != "static" || !isRunning(p, "web") {
		t.Errorf("mirror pod = %s", statusString(p))
	}
	found := false
	for _, sp := range e.mgr.Pods() {
		found = found || (sp.Name == name && string(sp.UID) == p.Annotations["kubernetes.io/config.mirror"])
	}
	if !found {
		t.Errorf("Pods() does not list the static pod")
	}
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	crinode.WaitFor(t, 2*time.Minute, "the mirror pod and the containers to go", func(ctx context.Context) (bool, error) {
		_, err := e.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		left, err := e.node.Client.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.pod.name": name}})
		return len(left) == 0, err
	})
}
