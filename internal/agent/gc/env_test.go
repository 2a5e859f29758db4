package gc_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// clock is a settable clock for the collector.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// disk is the image filesystem usage the collector is told, settable.
type disk struct {
	mu    sync.Mutex
	usage gc.Usage
	err   error
}

func (d *disk) set(percentFull int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.usage = gc.Usage{Capacity: 100, Available: 100 - percentFull}
	d.err = err
}

func (d *disk) Usage(context.Context) (gc.Usage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.usage, d.err
}

// pod is a sandbox with the agent's labels and log directory layout.
type pod struct {
	id     string
	config *runtimeapi.PodSandboxConfig
}

// runPod runs a host-network sandbox for pod default/name with its logs
// in logRoot/default_<name>_<uid>, as the agent lays them out.
func runPod(t *testing.T, n *crinode.Node, logRoot, name string) *pod {
	t.Helper()
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		LogDirectory: filepath.Join(logRoot, "default_"+name+"_"+uid),
		Labels:       map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: "default", cri.LabelPodUID: uid},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD},
		}},
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := n.Client.RunPodSandbox(ctx, cfg, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	return &pod{id: id, config: cfg}
}

// createContainer creates instance restart of container name in the pod
// with the agent's labels and annotations (none with foreign) and, with
// start, starts it and waits for state want.
func createContainer(t *testing.T, n *crinode.Node, p *pod, name string, restart int, image string, foreign bool, want runtimeapi.ContainerState, cmd ...string) string {
	t.Helper()
	md := p.config.GetMetadata()
	labels := map[string]string{cri.LabelPodName: md.GetName(), cri.LabelPodNamespace: md.GetNamespace(), cri.LabelPodUID: md.GetUid(), cri.LabelContainerName: name}
	if foreign {
		labels = nil
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: name, Attempt: uint32(restart)},
		Image:       &runtimeapi.ImageSpec{Image: image},
		Command:     cmd,
		LogPath:     filepath.Join(name, strconv.Itoa(restart)+".log"),
		Labels:      labels,
		Annotations: map[string]string{cri.AnnotationRestartCount: strconv.Itoa(restart)},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_POD},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := n.Client.CreateContainer(ctx, p.id, cfg, p.config)
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if want == runtimeapi.ContainerState_CONTAINER_CREATED {
		return id
	}
	if err := n.Client.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer %s: %v", name, err)
	}
	crinode.WaitFor(t, time.Minute, name+" "+want.String(), func(ctx context.Context) (bool, error) {
		st, err := n.Client.ContainerStatus(ctx, id)
		return err == nil && st.GetState() == want, err
	})
	return id
}

// containerIDs are the IDs of the runtime's containers.
func containerIDs(t *testing.T, n *crinode.Node) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := n.Client.ListContainers(ctx, nil)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	out := map[string]bool{}
	for _, c := range list {
		out[c.GetId()] = true
	}
	return out
}

// exists reports whether a file exists.
func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}
