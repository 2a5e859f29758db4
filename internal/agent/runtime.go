package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
)

// nodeRuntime is the container runtime the agent uses: a managed
// containerd (ctd set) or one at an endpoint the user gave.
type nodeRuntime struct {
	client     *cri.Client
	ctd        *cri.Containerd
	importer   *images.Importer
	cniConfDir string
	version    string
}

// startRuntime starts the managed containerd (unless o.RuntimeEndpoint is
// set) under run, which supervises it, and dials CRI.
func startRuntime(ctx context.Context, o *Options, run func(name string, f func(context.Context) error), log *slog.Logger) (*nodeRuntime, error) {
	rt := &nodeRuntime{cniConfDir: o.CNIConfDir}
	endpoint := o.RuntimeEndpoint
	if endpoint == "" {
		ctd, err := cri.NewContainerd(filepath.Join(o.DataDir, "containerd"), cri.ContainerdOptions{Log: log.With("component", "containerd"), CNIConfDir: o.CNIConfDir})
		if err != nil {
			return nil, err
		}
		rt.ctd, rt.cniConfDir, endpoint = ctd, ctd.CNIConfDir(), ctd.Endpoint()
		run("containerd", ctd.Start)
		select {
		case <-ctd.Ready():
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		im := ctd.Importer()
		rt.importer = &im
	} else if strings.Contains(endpoint, "containerd") {
		// ctr can import into any containerd socket.
		rt.importer = &images.Importer{Address: strings.TrimPrefix(endpoint, "unix://")}
	}
	if rt.cniConfDir == "" {
		rt.cniConfDir = "/etc/cni/net.d"
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client, err := cri.Dial(dctx, endpoint)
	if err != nil {
		return nil, err
	}
	rt.client = client
	v, err := client.Version(dctx)
	if err != nil {
		client.Close()
		return nil, err
	}
	rt.version = v.GetRuntimeName() + "://" + v.GetRuntimeVersion()
	return rt, nil
}

// ready reports the runtime's conditions as an error naming what is not
// ready, like the kubelet's "container runtime network not ready" message.
func (rt *nodeRuntime) ready(ctx context.Context) error {
	st, err := rt.client.Status(ctx)
	if err != nil {
		return fmt.Errorf("container runtime is down: %w", err)
	}
	for _, c := range st.GetConditions() {
		if c.GetStatus() {
			continue
		}
		switch c.GetType() {
		case runtimeapi.RuntimeReady:
			return fmt.Errorf("container runtime not ready: RuntimeReady=false reason:%s message:%s", c.GetReason(), c.GetMessage())
		case runtimeapi.NetworkReady:
			return fmt.Errorf("container runtime network not ready: NetworkReady=false reason:%s message:%s", c.GetReason(), c.GetMessage())
		}
	}
	return nil
}

// importImages makes skiff's own images (pause, busybox) present and
// imports every tarball in dir (DIR/agent/images). A tarball that fails is
// logged and skipped: one bad file must not keep the node down.
func (rt *nodeRuntime) importImages(ctx context.Context, dir string, log *slog.Logger) error {
	if rt.importer == nil {
		log.Warn("the runtime is not containerd: skiff's pause image and DIR/agent/images cannot be imported; the runtime must provide its sandbox image")
		return nil
	}
	builtin := map[string]func(*os.File) error{
		images.PauseImageRef:   func(w *os.File) error { return images.PauseImage(w) },
		images.BusyboxImageRef: func(w *os.File) error { return images.BusyboxImage(w) },
	}
	for ref, build := range builtin {
		img, err := rt.client.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref})
		if err != nil {
			return err
		}
		if img != nil {
			continue
		}
		if err := rt.importBuilt(ctx, ref, build); err != nil {
			if ref == images.PauseImageRef {
				return err
			}
			log.Warn("import built-in image", "image", ref, "err", err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tar") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := rt.importer.Import(ctx, path); err != nil {
			log.Error("import image tarball", "file", path, "err", err)
			continue
		}
		log.Info("imported image tarball", "file", path)
	}
	return nil
}

// importBuilt builds one of skiff's images into a temp file and imports it.
func (rt *nodeRuntime) importBuilt(ctx context.Context, ref string, build func(*os.File) error) error {
	f, err := os.CreateTemp("", "skiff-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := build(f); err != nil {
		f.Close()
		return fmt.Errorf("build %s: %w", ref, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return rt.importer.Import(ctx, f.Name())
}
