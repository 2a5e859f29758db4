package cri_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
)

func TestContainerdAnswersCRI(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	v, err := n.client.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if v.GetRuntimeName() != "containerd" || v.GetRuntimeApiVersion() != "v1" {
		t.Errorf("Version = %s %s (CRI %s), want containerd speaking CRI v1", v.GetRuntimeName(), v.GetRuntimeVersion(), v.GetRuntimeApiVersion())
	}
	status, err := n.client.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for _, cond := range status.GetConditions() {
		if cond.GetType() == runtimeapi.RuntimeReady && !cond.GetStatus() {
			t.Errorf("RuntimeReady is false: %s %s", cond.GetReason(), cond.GetMessage())
		}
	}
	if !strings.HasPrefix(n.ctd.Endpoint(), "unix:///") {
		t.Errorf("Endpoint() = %q, want unix:///…", n.ctd.Endpoint())
	}
	if handlers := n.ctd.RuntimeHandlers(); len(handlers) == 0 || handlers[0] != "runc" {
		t.Errorf("RuntimeHandlers() = %v, want runc first", handlers)
	}
	if _, err := n.client.ContainerStatus(ctx, "no-such-container"); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("ContainerStatus of an absent container = %v, want ErrNotFound", err)
	}
	if img, err := n.client.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "skiff.local/absent:1"}); err != nil || img != nil {
		t.Errorf("ImageStatus of an absent image = %v, %v; want nil, nil", img, err)
	}

	if err := n.ctd.Start(ctx); !errors.Is(err, cri.ErrAlreadyStarted) {
		t.Errorf("second Start = %v, want ErrAlreadyStarted", err)
	}
	other, err := cri.NewContainerd(filepath.Dir(n.ctd.ConfigPath()), cri.ContainerdOptions{})
	if err != nil {
		t.Fatalf("NewContainerd on a busy dir: %v", err)
	}
	if err := other.Start(ctx); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("Start on a dir another supervisor uses = %v, want a refusal", err)
	}
}

func TestPodLifecycle(t *testing.T) {
	n := startNode(t)
	n.importImages(t)
	const dockerRef = "skiff.local/docker-archive:test"
	n.importTarball(t, "docker-archive.tar", func(w *os.File) error { return dockerArchive(w, dockerRef) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, ref := range []string{images.PauseImageRef, images.BusyboxImageRef, dockerRef} {
		img, err := n.client.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref})
		if err != nil || img == nil {
			t.Fatalf("ImageStatus(%s) = %v, %v; want the imported image", ref, img, err)
		}
		if !slices.Contains(img.GetRepoTags(), ref) {
			t.Errorf("image %s has tags %v", ref, img.GetRepoTags())
		}
	}

	tests := []struct {
		name    string
		handler string
		image   string
	}{
		{name: "runc", handler: "runc", image: images.BusyboxImageRef},
		{name: "default handler", handler: "", image: images.BusyboxImageRef},
		{name: "docker archive image", handler: "runc", image: dockerRef},
	}
	if slices.Contains(n.ctd.RuntimeHandlers(), "crun") {
		tests = append(tests, struct{ name, handler, image string }{name: "crun", handler: "crun", image: images.BusyboxImageRef})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox := n.sandboxConfig("lifecycle")
			podID, err := n.client.RunPodSandbox(ctx, sandbox, tc.handler)
			if err != nil {
				t.Fatalf("RunPodSandbox: %v", err)
			}
			if st, err := n.client.PodSandboxStatus(ctx, podID); err != nil || st.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
				t.Fatalf("PodSandboxStatus = %v, %v; want ready", st.GetState(), err)
			}

			echo := n.runContainer(t, podID, sandbox, containerConfig("echo", tc.image, "/bin/sh", "-c", "echo hello from skiff; echo oops >&2"))
			status := n.waitContainer(t, echo, runtimeapi.ContainerState_CONTAINER_EXITED)
			if status.GetExitCode() != 0 {
				t.Errorf("echo exited %d (%s), want 0", status.GetExitCode(), status.GetReason())
			}
			logs := readCRILog(t, status.GetLogPath())
			if !slices.Contains(logs, "stdout hello from skiff") || !slices.Contains(logs, "stderr oops") {
				t.Errorf("container log = %q, want the echoed lines", logs)
			}

			sleeper := n.runContainer(t, podID, sandbox, containerConfig("sleeper", tc.image, "sleep", "3600"))
			n.waitContainer(t, sleeper, runtimeapi.ContainerState_CONTAINER_RUNNING)
			res, err := n.client.ExecSync(ctx, sleeper, []string{"sh", "-c", "echo exec works; exit 3"}, 30*time.Second)
			if err != nil {
				t.Fatalf("ExecSync: %v", err)
			}
			if string(res.Stdout) != "exec works\n" || res.ExitCode != 3 {
				t.Errorf("ExecSync = %q, exit %d; want \"exec works\\n\", exit 3", res.Stdout, res.ExitCode)
			}
			list, err := n.client.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: podID})
			if err != nil || len(list) != 2 {
				t.Errorf("ListContainers in the pod = %d containers, %v; want 2", len(list), err)
			}

			if err := n.client.StopContainer(ctx, sleeper, time.Second); err != nil {
				t.Fatalf("StopContainer: %v", err)
			}
			if st := n.waitContainer(t, sleeper, runtimeapi.ContainerState_CONTAINER_EXITED); st.GetExitCode() == 0 {
				t.Errorf("stopped sleeper exited 0, want killed")
			}
			for _, id := range []string{echo, sleeper} {
				if err := n.client.RemoveContainer(ctx, id); err != nil {
					t.Fatalf("RemoveContainer: %v", err)
				}
				if _, err := n.client.ContainerStatus(ctx, id); !errors.Is(err, cri.ErrNotFound) {
					t.Errorf("ContainerStatus after removal = %v, want ErrNotFound", err)
				}
			}
			if err := n.client.StopPodSandbox(ctx, podID); err != nil {
				t.Fatalf("StopPodSandbox: %v", err)
			}
			if err := n.client.RemovePodSandbox(ctx, podID); err != nil {
				t.Fatalf("RemovePodSandbox: %v", err)
			}
			if _, err := n.client.PodSandboxStatus(ctx, podID); !errors.Is(err, cri.ErrNotFound) {
				t.Errorf("PodSandboxStatus after removal = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestPauseReapsZombies makes an orphan in a pod sharing one pid namespace:
// it is reparented to the pause process (PID 1), which must reap it when it
// exits.
func TestPauseReapsZombies(t *testing.T) {
	n := startNode(t)
	n.importImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sandbox := n.sandboxConfig("zombies")
	podID, err := n.client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	// The inner shell starts the orphan and exits at once. The orphan waits
	// for /tmp/go, so the test sees it alive under PID 1 before it exits.
	script := `sh -c 'sh -c "while [ ! -e /tmp/go ]; do sleep 0.1; done" &'; exec sleep 3600`
	id := n.runContainer(t, podID, sandbox, containerConfig("orphans", images.BusyboxImageRef, "sh", "-c", script))
	n.waitContainer(t, id, runtimeapi.ContainerState_CONTAINER_RUNNING)

	var orphan string
	waitFor(t, time.Minute, "the orphan to be reparented to pause", func(ctx context.Context) (bool, error) {
		procs, err := podProcesses(ctx, n.client, id)
		for _, p := range procs {
			if p.pid != "1" && p.ppid == "1" && p.comm == "sh" {
				orphan = p.pid
				return true, nil
			}
		}
		return false, err
	})
	if res, err := n.client.ExecSync(ctx, id, []string{"touch", "/tmp/go"}, 30*time.Second); err != nil || res.ExitCode != 0 {
		t.Fatalf("touch /tmp/go: %v, %+v", err, res)
	}
	waitFor(t, time.Minute, "the orphan to exit and be reaped", func(ctx context.Context) (bool, error) {
		procs, err := podProcesses(ctx, n.client, id)
		if err != nil {
			return false, err
		}
		for _, p := range procs {
			if p.pid == orphan || p.state == "Z" {
				return false, errors.New("still there: " + p.pid + " (" + p.comm + ") state " + p.state)
			}
		}
		return true, nil
	})
}

type process struct{ pid, comm, state, ppid string }

// podProcesses lists the processes of the pod's pid namespace as seen from
// inside a container.
func podProcesses(ctx context.Context, c *cri.Client, containerID string) ([]process, error) {
	res, err := c.ExecSync(ctx, containerID, []string{"sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null"}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var procs []process
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || closing < open {
			continue
		}
		rest := strings.Fields(line[closing+1:])
		if len(rest) < 2 {
			continue
		}
		procs = append(procs, process{pid: strings.TrimSpace(line[:open]), comm: line[open+1 : closing], state: rest[0], ppid: rest[1]})
	}
	return procs, nil
}

func TestContainerdRestartsAndClientReconnects(t *testing.T) {
	n := startNode(t)
	n.importImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sandbox := n.sandboxConfig("survivor")
	podID, err := n.client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	sleeper := n.runContainer(t, podID, sandbox, containerConfig("sleeper", images.BusyboxImageRef, "sleep", "3600"))
	n.waitContainer(t, sleeper, runtimeapi.ContainerState_CONTAINER_RUNNING)

	oldPid := containerdPid(t, n.ctd.ConfigPath())
	if oldPid == 0 {
		t.Fatal("cannot find the containerd process")
	}
	if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill containerd: %v", err)
	}
	waitFor(t, time.Minute, "the killed containerd to be gone", func(context.Context) (bool, error) {
		return !processAlive(oldPid), nil
	})

	// The same client, without redialing: calls wait for the new containerd.
	if st := n.waitContainer(t, sleeper, runtimeapi.ContainerState_CONTAINER_RUNNING); st.GetId() != sleeper {
		t.Fatalf("ContainerStatus after restart = %v", st)
	}
	res, err := n.client.ExecSync(ctx, sleeper, []string{"echo", "still here"}, 30*time.Second)
	if err != nil || string(res.Stdout) != "still here\n" {
		t.Fatalf("ExecSync after restart = %q, %v", res.Stdout, err)
	}
	echo := n.runContainer(t, podID, sandbox, containerConfig("echo", images.BusyboxImageRef, "echo", "after restart"))
	if st := n.waitContainer(t, echo, runtimeapi.ContainerState_CONTAINER_EXITED); st.GetExitCode() != 0 {
		t.Errorf("new container after restart exited %d", st.GetExitCode())
	}
	if newPid := containerdPid(t, n.ctd.ConfigPath()); newPid == 0 || newPid == oldPid {
		t.Errorf("containerd pid after restart = %d (before %d), want a new process", newPid, oldPid)
	}
	if logs := n.Logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "containerd is down") {
		t.Errorf("supervisor did not log the exit as an error:\n%s", logs)
	}
}

// dockerArchive writes the busybox image as a docker-archive (`docker save`
// format) tarball named ref, converting the OCI layout images.BusyboxImage
// writes.
func dockerArchive(w io.Writer, ref string) error {
	var oci bytes.Buffer
	if err := images.BusyboxImage(&oci); err != nil {
		return err
	}
	blobs := map[string][]byte{}
	tr := tar.NewReader(&oci)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		blobs[hdr.Name] = b
	}
	blob := func(digest string) []byte { return blobs["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")] }
	var index struct{ Manifests []struct{ Digest string } }
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil {
		return err
	}
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifest); err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(manifest.Layers[0].Digest)))
	if err != nil {
		return err
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	// A label of its own makes it a distinct image, not another name for
	// busybox.
	var config map[string]any
	if err := json.Unmarshal(blob(manifest.Config.Digest), &config); err != nil {
		return err
	}
	config["config"].(map[string]any)["Labels"] = map[string]string{"format": "docker-archive"}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(configJSON)
	configName := hex.EncodeToString(sum[:]) + ".json"
	dockerManifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{ref},
		"Layers":   []string{"layer/layer.tar"},
	}})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{configName, configJSON},
		{"layer/layer.tar", layer},
		{"manifest.json", dockerManifest},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
