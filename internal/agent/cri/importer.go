package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/skiffhq/skiff/internal/agent/images"
)

// snapshotterLine finds the CRI snapshotter in a rendered config.toml.
var snapshotterLine = regexp.MustCompile(`(?m)^\s*snapshotter\s*=\s*"([^"]+)"`)

// ImporterFor returns an image importer for the managed containerd in dir
// (DIR/containerd) as a running agent configured it, for `skiff images
// import`: the same socket, and the snapshotter the CRI plugin unpacks into.
func ImporterFor(dir string) (images.Importer, error) {
	cfg, err := os.ReadFile(filepath.Join(dir, "config.toml"))
	if err != nil {
		return images.Importer{}, fmt.Errorf("no managed containerd in %s (has an agent run with this data dir?): %w", dir, err)
	}
	im := images.Importer{Address: filepath.Join(dir, "containerd.sock")}
	if m := snapshotterLine.FindSubmatch(cfg); m != nil {
		im.Snapshotter = string(m[1])
	}
	return im, nil
}
