package cri_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// helperDirEnv, when set, makes the test binary run a supervisor on the
// directory it names (see TestMain) instead of running tests.
const helperDirEnv = "SKIFF_CRI_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(superviseUntilKilled(dir))
	}
	os.Exit(m.Run())
}

// superviseUntilKilled is the process TestContainerdDiesWithItsParent kills:
// it starts containerd, says "ready" and waits.
func superviseUntilKilled(dir string) int {
	ctd, err := cri.NewContainerd(dir, cri.ContainerdOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	go ctd.Start(context.Background())
	<-ctd.Ready()
	fmt.Println("ready")
	select {}
}

// TestContainerdDiesWithItsParent kills a supervisor with SIGKILL, so it
// cannot stop containerd itself: the parent-death signal must.
func TestContainerdDiesWithItsParent(t *testing.T) {
	requireRuntime(t)
	dir := filepath.Join(t.TempDir(), "containerd")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	helper := exec.CommandContext(ctx, os.Args[0])
	helper.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crinode.UnmountUnder(t, filepath.Dir(dir)) })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}
	pid := containerdPid(t, filepath.Join(dir, "config.toml"))
	if pid == 0 {
		t.Fatal("cannot find the helper's containerd")
	}
	t.Cleanup(func() {
		if processAlive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	waitFor(t, time.Minute, "containerd to die with its parent", func(context.Context) (bool, error) {
		return !processAlive(pid), nil
	})
}
