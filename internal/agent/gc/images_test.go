package gc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

const nodeName = "gc-node"

// importImage builds and imports a small image named ref whose content
// differs from every other's.
func importImage(t *testing.T, n *crinode.Node, ref string) {
	t.Helper()
	name := strings.NewReplacer("/", "_", ":", "_").Replace(ref) + ".tar"
	n.ImportTarball(t, name, func(w *os.File) error {
		return images.Build(w, ref, []images.File{{Path: "/data/" + name, Mode: 0o644, Data: []byte(ref)}}, images.ImageConfig{Cmd: []string{"/data"}})
	})
}

// imageTags are the tags of the runtime's images.
func imageTags(t *testing.T, n *crinode.Node) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := n.Client.ListImages(ctx, nil)
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var out []string
	for _, img := range list {
		out = append(out, img.GetRepoTags()...)
	}
	slices.Sort(out)
	return out
}

// nodeEvents records events the way the agent does, into a real API
// server, and returns a client to read them.
func nodeEvents(t *testing.T) (record.EventRecorder, kubernetes.Interface) {
	srv := testserver.Start(t, nil)
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: srv.Client.CoreV1().Events("")})
	t.Cleanup(b.Shutdown)
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: nodeName}), srv.Client
}

// waitNodeEvent waits for a warning with reason on the Node and returns
// its message.
func waitNodeEvent(t *testing.T, client kubernetes.Interface, reason string) string {
	t.Helper()
	var msg string
	crinode.WaitFor(t, time.Minute, "event "+reason+" on the Node", func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range list.Items {
			o := e.InvolvedObject
			if o.Kind == "Node" && o.Name == nodeName && e.Reason == reason && e.Type == corev1.EventTypeWarning {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	return msg
}

func TestImageGC(t *testing.T) {
	recorder, client := nodeEvents(t)
	n := crinode.Start(t)
	n.ImportImages(t)
	const a, b, c, young = "skiff.local/gc-a:1", "skiff.local/gc-b:1", "skiff.local/gc-c:1", "skiff.local/gc-young:1"
	for _, ref := range []string{a, b, c} {
		importImage(t, n, ref)
	}
	// inUse runs all along, from an image of its own.
	const inUse = "skiff.local/gc-in-use:1"
	n.ImportTarball(t, "in-use.tar", func(w *os.File) error {
		sleep, err := images.HostFile(images.BusyboxPath, "/bin/sleep")
		if err != nil {
			return err
		}
		return images.Build(w, inUse, []images.File{sleep}, images.ImageConfig{})
	})
	created, running := runtimeapi.ContainerState_CONTAINER_CREATED, runtimeapi.ContainerState_CONTAINER_RUNNING
	p := runPod(t, n, filepath.Join(n.Dir, "logs"), "web")
	createContainer(t, n, p, "in-use", 0, inUse, false, running, "/bin/sleep", "3600")

	clk := &clock{now: time.Now()}
	var d disk
	collector := gc.New(gc.Options{Runtime: n.Client, NodeName: nodeName, Recorder: recorder, Now: clk.Now, ImageFsUsage: d.Usage})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	remove := func(id string) {
		t.Helper()
		if err := n.Client.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(percentFull int64) error {
		t.Helper()
		d.set(percentFull, nil)
		clk.Add(10 * time.Second)
		return collector.CollectNow(ctx)
	}

	// a is used first, then b; c never. Below the high threshold nothing
	// goes. young comes after the first look and is younger than two
	// minutes for a while.
	ua := createContainer(t, n, p, "use-a", 0, a, false, created)
	if err := collect(84); err != nil {
		t.Fatalf("CollectNow at 84%%: %v", err)
	}
	importImage(t, n, young)
	remove(ua)
	ub := createContainer(t, n, p, "use-b", 0, b, false, created)
	if err := collect(84); err != nil {
		t.Fatalf("CollectNow at 84%%: %v", err)
	}
	remove(ub)
	all := []string{images.BusyboxImageRef, a, b, c, inUse, young, images.PauseImageRef}
	slices.Sort(all)
	if got := imageTags(t, n); !slices.Equal(got, all) {
		t.Fatalf("below the high threshold images = %v, want all of %v", got, all)
	}

	// At 90 % of 100 bytes, 10 bytes must go: one image per collection,
	// least recently used first; the in-use image, skiff's pause and
	// busybox images (unused) and young images never. young is removed once two minutes old.
	for _, want := range []struct {
		gone  string
		after time.Duration
	}{{gone: c}, {gone: a}, {gone: b}, {gone: young, after: 2 * time.Minute}} {
		clk.Add(want.after)
		if err := collect(90); err != nil {
			t.Fatalf("CollectNow at 90%% (removing %s): %v", want.gone, err)
		}
		all = slices.DeleteFunc(all, func(s string) bool { return s == want.gone })
		if got := imageTags(t, n); !slices.Equal(got, all) {
			t.Fatalf("after a collection at 90%% images = %v, want %v (%s removed)", got, all, want.gone)
		}
	}

	// Nothing left to remove: the collection fails and says so on the Node.
	err := collect(90)
	if err == nil || !strings.Contains(err.Error(), "Attempted to free 10 bytes, but only found 0 bytes eligible to free") {
		t.Errorf("CollectNow with nothing to remove = %v, want the amount it could not free", err)
	}
	msg := waitNodeEvent(t, client, gc.ReasonFreeDiskSpaceFailed)
	if want := "Failed to garbage collect required amount of images. Attempted to free 10 bytes, but only found 0 bytes eligible to free."; msg != want {
		t.Errorf("FreeDiskSpaceFailed message = %q, want %q", msg, want)
	}
	if got := imageTags(t, n); !slices.Equal(got, all) {
		t.Errorf("images = %v, want %v", got, all)
	}

	// Usage that cannot be read twice in a row is an ImageGCFailed event.
	broken := errors.New("statfs: input/output error")
	for range 2 {
		d.set(0, broken)
		if err := collector.CollectNow(ctx); !errors.Is(err, broken) {
			t.Fatalf("CollectNow with unreadable usage = %v, want %v", err, broken)
		}
	}
	if msg := waitNodeEvent(t, client, gc.ReasonImageGCFailed); !strings.Contains(msg, broken.Error()) {
		t.Errorf("ImageGCFailed message = %q, want it to name %q", msg, broken)
	}
}

func TestRuntimeImageFsUsage(t *testing.T) {
	n := crinode.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := gc.RuntimeImageFsUsage(ctx, n.Client)
	if err != nil {
		t.Fatalf("RuntimeImageFsUsage: %v", err)
	}
	// The managed containerd keeps its images below the test's directory.
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.Dir, &st); err != nil {
		t.Fatal(err)
	}
	if want := int64(st.Blocks) * st.Bsize; u.Capacity != want || u.Available < 0 || u.Available > u.Capacity {
		t.Errorf("usage = %+v, want capacity %d (the test directory's filesystem) and 0 ≤ available ≤ capacity", u, want)
	}
}
