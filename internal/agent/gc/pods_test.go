package gc_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/pods"
	"github.com/skiffhq/skiff/internal/agent/volume"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// TestCollectorWithThePodWorkers runs the collector next to real pod
// workers on a crash-looping pod: the log files of instances the workers
// removed go, while the status keeps its restart count and last state and
// the previous instance keeps its log.
func TestCollectorWithThePodWorkers(t *testing.T) {
	recorder, client := nodeEvents(t)
	n := crinode.Start(t)
	n.ImportImages(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	logRoot := filepath.Join(dir, "logs")
	mgr, err := pods.NewManager(pods.Options{
		NodeName: nodeName, NodeIP: "127.0.0.1", Client: client, Runtime: n.Client, Recorder: recorder,
		Volumes:   volume.NewManager(volume.Options{Root: filepath.Join(dir, "pods"), Client: client, NodeName: nodeName}),
		PodLogDir: logRoot, StaticPodDir: filepath.Join(dir, "manifests"), ClusterDomain: "cluster.local",
		NodeAllocatable: func() corev1.ResourceList {
			return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(mctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("pods.Manager.Run: %v", err)
		}
	}()

	pod, err := client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crash"},
		Spec: corev1.PodSpec{NodeName: nodeName, HostNetwork: true, Containers: []corev1.Container{{
			Name: "app", Image: images.BusyboxImageRef, Command: []string{"sh", "-c", "echo run; exit 1"},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Three instances have run and the workers removed the first.
	appContainers := func(ctx context.Context) (map[int]*runtimeapi.Container, error) {
		list, err := n.Client.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{cri.LabelPodUID: string(pod.UID)}})
		out := map[int]*runtimeapi.Container{}
		for _, c := range list {
			i, _ := strconv.Atoi(c.GetAnnotations()[cri.AnnotationRestartCount])
			out[i] = c
		}
		return out, err
	}
	crinode.WaitFor(t, 3*time.Minute, "the third instance to exit and the first to be removed", func(ctx context.Context) (bool, error) {
		cs, err := appContainers(ctx)
		return cs[0] == nil && cs[2].GetState() == runtimeapi.ContainerState_CONTAINER_EXITED, err
	})

	if err := gc.New(gc.Options{Runtime: n.Client, PodLogDir: logRoot, NodeName: nodeName, Recorder: recorder}).CollectNow(ctx); err != nil {
		t.Fatalf("CollectNow: %v", err)
	}
	logDir := filepath.Join(logRoot, fmt.Sprintf("default_crash_%s", pod.UID), "app")
	if exists(t, filepath.Join(logDir, "0.log")) {
		t.Errorf("the log of the removed first instance is still there")
	}
	cs, err := appContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		if !exists(t, filepath.Join(logDir, strconv.Itoa(i)+".log")) {
			t.Errorf("instance %d exists but its log is gone", i)
		}
	}
	crinode.WaitFor(t, 3*time.Minute, "a fourth run with the last state kept", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "crash", metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) != 1 {
			return false, err
		}
		s := p.Status.ContainerStatuses[0]
		return s.RestartCount >= 3 && s.LastTerminationState.Terminated != nil && s.LastTerminationState.Terminated.ExitCode == 1, nil
	})
}
