package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CRINamespace is the containerd namespace the CRI plugin keeps its images
// in; an image imported anywhere else is invisible to pods.
const CRINamespace = "k8s.io"

// Importer loads image tarballs into a containerd through Debian's ctr tool,
// which reads OCI image layouts and docker-archive (`docker save`) tarballs.
type Importer struct {
	// Address is the path of containerd's unix socket (no unix:// prefix
	// needed).
	Address string
	// Snapshotter is the snapshotter to unpack into; it must be the one the
	// CRI plugin uses. Empty means ctr's default (overlayfs).
	Snapshotter string
	// AllPlatforms imports the content of every platform an index names
	// instead of only this machine's. The tarball must then hold them all.
	AllPlatforms bool
	// Ctr is the ctr binary; empty means "ctr" on PATH.
	Ctr string
}

// Import imports the image tarball at tarPath into the CRI namespace of the
// containerd listening on containerdSocket and unpacks it for this machine's
// platform.
func Import(ctx context.Context, containerdSocket, tarPath string) error {
	return Importer{Address: containerdSocket}.Import(ctx, tarPath)
}

// Import imports the image tarball at tarPath and unpacks it. Images are named
// after the io.containerd.image.name annotation of an OCI layout (Build sets
// it) or the RepoTags of a docker archive.
func (im Importer) Import(ctx context.Context, tarPath string) error {
	if _, err := os.Stat(tarPath); err != nil {
		return fmt.Errorf("import image: %w", err)
	}
	ctr := im.Ctr
	if ctr == "" {
		ctr = "ctr"
	}
	bin, err := exec.LookPath(ctr)
	if err != nil {
		return fmt.Errorf("import image: %w (ctr ships with Debian's containerd package)", err)
	}
	args := []string{
		"--address", strings.TrimPrefix(im.Address, "unix://"),
		"--namespace", CRINamespace,
		"images", "import",
	}
	if im.Snapshotter != "" {
		args = append(args, "--snapshotter", im.Snapshotter)
	}
	if im.AllPlatforms {
		args = append(args, "--all-platforms")
	}
	args = append(args, tarPath)
	cmd := exec.CommandContext(ctx, bin, args...)
	// ctr reads CONTAINERD_* variables; nothing from our environment may
	// change where the image goes.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("import image %s: %w: %s", tarPath, err, strings.TrimSpace(out.String()))
	}
	return nil
}
