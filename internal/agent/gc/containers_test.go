package gc_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

func TestContainerGC(t *testing.T) {
	n := crinode.Start(t)
	n.ImportImages(t)
	exited, running := runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_RUNNING
	logRoot := filepath.Join(n.Dir, "logs")
	p := runPod(t, n, logRoot, "web")
	logOf := func(name, restart string) string {
		return filepath.Join(p.config.GetLogDirectory(), name, restart+".log")
	}

	var app []string // app's instances, oldest first
	for i := range 4 {
		app = append(app, createContainer(t, n, p, "app", i, images.BusyboxImageRef, false, exited, "echo", "run"))
	}
	side0 := createContainer(t, n, p, "sidecar", 0, images.BusyboxImageRef, false, exited, "true")
	side1 := createContainer(t, n, p, "sidecar", 1, images.BusyboxImageRef, false, running, "sleep", "3600")
	foreign := createContainer(t, n, p, "foreign", 0, images.BusyboxImageRef, true, exited, "true")
	foreignOld := createContainer(t, n, p, "foreign", 1, images.BusyboxImageRef, true, exited, "true")
	stale := logOf("app", "99")
	if err := os.WriteFile(stale, []byte("left behind\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if !exists(t, logOf("app", string(rune('0'+i)))) {
			t.Fatalf("app instance %d wrote no log file", i)
		}
	}

	clk := &clock{now: time.Now()}
	var d disk
	d.set(0, nil)
	o := gc.Options{Runtime: n.Client, PodLogDir: logRoot, MinContainerAge: time.Hour, Now: clk.Now, ImageFsUsage: d.Usage}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	steps := []struct {
		name        string
		advance     time.Duration
		maxDead     int
		wantKept    []string
		wantRemoved []string
		wantLogs    []string
		wantNoLogs  []string
	}{
		{
			name:       "younger than the minimum age: all kept, the stray log file goes",
			wantKept:   append([]string{side0, side1, foreign, foreignOld}, app...),
			wantLogs:   []string{logOf("app", "0"), logOf("app", "3")},
			wantNoLogs: []string{stale},
		},
		{
			name:        "old enough: the newest and one dead instance per container stay",
			advance:     2 * time.Hour,
			wantKept:    []string{app[2], app[3], side0, side1, foreign, foreignOld},
			wantRemoved: []string{app[0], app[1]},
			wantLogs:    []string{logOf("app", "2"), logOf("app", "3"), logOf("sidecar", "0")},
			wantNoLogs:  []string{logOf("app", "0"), logOf("app", "1")},
		},
		{
			name:        "node-wide cap of one dead container: only the newest instances stay",
			maxDead:     1,
			wantKept:    []string{app[3], side1, foreign, foreignOld},
			wantRemoved: []string{app[2], side0},
			wantLogs:    []string{logOf("app", "3"), logOf("sidecar", "1")},
			wantNoLogs:  []string{logOf("app", "2"), logOf("sidecar", "0")},
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			clk.Add(step.advance)
			so := o
			so.MaxDeadContainers = step.maxDead
			if err := gc.New(so).CollectNow(ctx); err != nil {
				t.Fatalf("CollectNow: %v", err)
			}
			ids := containerIDs(t, n)
			for _, id := range step.wantKept {
				if !ids[id] {
					t.Errorf("container %s was removed, want it kept", id)
				}
			}
			for _, id := range step.wantRemoved {
				if ids[id] {
					t.Errorf("container %s is still there, want it removed", id)
				}
			}
			for _, f := range step.wantLogs {
				if !exists(t, f) {
					t.Errorf("log %s is gone, want it kept", f)
				}
			}
			for _, f := range step.wantNoLogs {
				if exists(t, f) {
					t.Errorf("log %s is still there, want it removed", f)
				}
			}
		})
	}
}
