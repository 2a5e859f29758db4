package volume_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// TestConfigMapInContainer mounts a configMap volume into a real container
// and reads it from inside, before and after the ConfigMap changes.
func TestConfigMapInContainer(t *testing.T) {
	crinode.RequireRuntime(t)
	e := startAPI(t)
	n := crinode.Start(t)
	n.ImportImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Data: map[string]string{"greeting": "hello"}})

	pod := testPod("ctr-1", corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("app")}}})
	pod.Namespace = e.ns
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "cfg", MountPath: "/etc/greeting", SubPath: "greeting"},
	}
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.m.TearDown(context.Background(), pod.UID) })
	mounts, err := e.m.Mounts(pod, c)
	if err != nil {
		t.Fatal(err)
	}
	id := runWithMounts(t, ctx, n, pod, mounts)

	cat := func(path string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			res, err := n.Client.ExecSync(ctx, id, []string{"cat", path}, 10*time.Second)
			if err != nil {
				return "", err
			}
			return strings.TrimSpace(string(res.Stdout)) + strings.TrimSpace(string(res.Stderr)), nil
		}
	}
	waitContent(t, "greeting in the volume", cat("/etc/app/greeting"), "hello")
	waitContent(t, "greeting by subPath", cat("/etc/greeting"), "hello")
	// The mount is read-only.
	if res, err := n.Client.ExecSync(ctx, id, []string{"sh", "-c", "echo x > /etc/app/new"}, 10*time.Second); err != nil || res.ExitCode == 0 {
		t.Errorf("writing into the configMap volume: exit %d, %v; want a failure", res.ExitCode, err)
	}

	cm, err := e.c.CoreV1().ConfigMaps(e.ns).Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = "bonjour"
	if _, err := e.c.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	// The whole-volume mount follows the update; a subPath mount keeps the
	// file it was given (as upstream).
	waitContent(t, "updated greeting in the volume", cat("/etc/app/greeting"), "bonjour")
	if got, err := cat("/etc/greeting")(ctx); err != nil || got != "hello" {
		t.Errorf("subPath file = %q, %v; want the original hello", got, err)
	}
}

// runWithMounts runs busybox sleeping in a host-network sandbox with mounts.
func runWithMounts(t *testing.T, ctx context.Context, n *crinode.Node, pod *corev1.Pod, mounts []*runtimeapi.Mount) string {
	t.Helper()
	uid := string(pod.UID)
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD}
	labels := map[string]string{cri.LabelPodName: pod.Name, cri.LabelPodNamespace: pod.Namespace, cri.LabelPodUID: uid}
	sandbox := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: uid},
		LogDirectory: filepath.Join(n.Dir, "pods", uid),
		Labels:       labels,
		Linux:        &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}},
	}
	podID, err := n.Client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	cLabels := map[string]string{cri.LabelContainerName: "c"}
	for k, v := range labels {
		cLabels[k] = v
	}
	config := &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: "c"},
		Image:       &runtimeapi.ImageSpec{Image: images.BusyboxImageRef},
		Command:     []string{"sleep", "3600"},
		LogPath:     "c/0.log",
		Mounts:      mounts,
		Labels:      cLabels,
		Annotations: map[string]string{cri.AnnotationRestartCount: "0"},
		Linux:       &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: ns}},
	}
	id, err := n.Client.CreateContainer(ctx, podID, config, sandbox)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := n.Client.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	crinode.WaitFor(t, time.Minute, "the container to run", func(ctx context.Context) (bool, error) {
		st, err := n.Client.ContainerStatus(ctx, id)
		return err == nil && st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING, err
	})
	return id
}

// waitContent polls read until it returns want.
func waitContent(t *testing.T, what string, read func(context.Context) (string, error), want string) {
	t.Helper()
	var last string
	crinode.WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, error) {
		got, err := read(ctx)
		last = got
		return err == nil && got == want, err
	})
	if last != want {
		t.Fatalf("%s = %q, want %q", what, last, want)
	}
}
