package gc_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

func TestInvalidOptionsAreRefused(t *testing.T) {
	var rt cri.Runtime = (*cri.Client)(nil) // never called: the options are refused first
	tests := []struct {
		name string
		o    gc.Options
	}{
		{name: "no runtime", o: gc.Options{}},
		{name: "low not below high", o: gc.Options{Runtime: rt, HighThresholdPercent: 80, LowThresholdPercent: 80}},
		{name: "high above 100", o: gc.Options{Runtime: rt, HighThresholdPercent: 101, LowThresholdPercent: 80}},
		{name: "negative low", o: gc.Options{Runtime: rt, HighThresholdPercent: 85, LowThresholdPercent: -1}},
		{name: "negative dead per container", o: gc.Options{Runtime: rt, MaxDeadPerContainer: -1}},
		{name: "negative container age", o: gc.Options{Runtime: rt, MinContainerAge: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := gc.New(tc.o)
			if err := c.Start(context.Background()); !errors.Is(err, gc.ErrInvalidOptions) {
				t.Errorf("Start = %v, want ErrInvalidOptions", err)
			}
			if err := c.CollectNow(context.Background()); !errors.Is(err, gc.ErrInvalidOptions) {
				t.Errorf("CollectNow = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestStartCollectsUntilItsContextEnds(t *testing.T) {
	n := crinode.Start(t)
	n.ImportImages(t)
	p := runPod(t, n, filepath.Join(n.Dir, "logs"), "web")
	var app []string
	for i := range 3 {
		app = append(app, createContainer(t, n, p, "app", i, images.BusyboxImageRef, false, runtimeapi.ContainerState_CONTAINER_EXITED, "true"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gc.New(gc.Options{Runtime: n.Client}).Start(ctx) }()
	crinode.WaitFor(t, time.Minute, "the first collection to remove the oldest instance", func(ctx context.Context) (bool, error) {
		return !containerIDs(t, n)[app[0]], nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start = %v after its context ended, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Error("Start did not return within a minute of its context ending")
	}
	if ids := containerIDs(t, n); !ids[app[1]] || !ids[app[2]] {
		t.Errorf("containers after the collection = %v, want the two newest instances kept", ids)
	}
}
