package cri_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// sandboxConfig is a pod on the host network with its own pid namespace.
func (n *node) sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		LogDirectory: filepath.Join(n.dir, "pods", uid),
		Labels:       map[string]string{"io.kubernetes.pod.name": name},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_NODE,
					Pid:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// containerConfig runs command from image in the pod's namespaces.
func containerConfig(name, image string, command ...string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  command,
		LogPath:  filepath.Join(name, "0.log"),
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_NODE,
					Pid:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// runContainer creates and starts a container and returns its ID.
func (n *node) runContainer(t *testing.T, sandboxID string, sandbox *runtimeapi.PodSandboxConfig, config *runtimeapi.ContainerConfig) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := n.client.CreateContainer(ctx, sandboxID, config, sandbox)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := n.client.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return id
}

// waitContainer waits until the container is in state want.
func (n *node) waitContainer(t *testing.T, id string, want runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	t.Helper()
	var status *runtimeapi.ContainerStatus
	waitFor(t, time.Minute, "container "+id+" to reach "+want.String(), func(ctx context.Context) (bool, error) {
		var err error
		status, err = n.client.ContainerStatus(ctx, id)
		return err == nil && status.GetState() == want, err
	})
	return status
}

// readCRILog returns the messages of a CRI-format container log
// ("TIMESTAMP STREAM TAG MESSAGE" per line).
func readCRILog(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open container log: %v", err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) != 4 {
			t.Fatalf("malformed CRI log line %q", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
			t.Fatalf("CRI log line %q: bad timestamp: %v", sc.Text(), err)
		}
		msgs = append(msgs, parts[1]+" "+parts[3])
	}
	return msgs
}

func containerdPid(t testing.TB, config string) int { return crinode.ContainerdPid(t, config) }

func processAlive(pid int) bool { return crinode.ProcessAlive(pid) }

// node wraps crinode.Node with the short names these tests use.
type node struct {
	*crinode.Node
	dir    string
	ctd    *cri.Containerd
	client *cri.Client
}

func requireRuntime(t *testing.T) { crinode.RequireRuntime(t) }

func startNode(t testing.TB) *node {
	n := crinode.Start(t)
	return &node{Node: n, dir: n.Dir, ctd: n.Containerd, client: n.Client}
}

func (n *node) importImages(t testing.TB) { n.ImportImages(t) }

func (n *node) importTarball(t *testing.T, name string, build func(w *os.File) error) {
	n.ImportTarball(t, name, build)
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	crinode.WaitFor(t, timeout, what, cond)
}

func tail(s string, lines int) string { return crinode.Tail(s, lines) }

// waitNetworkReady waits for the runtime to report its network ready (a
// CNI configuration loaded).
func (n *node) waitNetworkReady(t testing.TB) {
	t.Helper()
	waitFor(t, time.Minute, "the runtime to load the CNI config", func(ctx context.Context) (bool, error) {
		st, err := n.client.Status(ctx)
		for _, c := range st.GetConditions() {
			if c.GetType() == runtimeapi.NetworkReady {
				return c.GetStatus(), err
			}
		}
		return false, err
	})
}
