package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// skiffBin is the skiff binary TestMain builds for every test in the package.
var skiffBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run builds ./cmd/skiff into a temporary directory, runs the tests and
// removes the directory again.
func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "skiff-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: make build dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	skiffBin = filepath.Join(dir, "skiff")
	build := exec.Command("go", "build", "-o", skiffBin, "github.com/skiffhq/skiff/cmd/skiff")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/skiff: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
