package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietHandlerDropsOnlyClosedStreamNoise(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(quietHandler{slog.NewTextHandler(&buf, nil)}).With("component", "klog")
	log.Error("Error on socket receive: read tcp 10.0.0.1:10250->10.0.0.1:4000: use of closed network connection")
	log.Error("Error on socket receive: connection reset by peer")
	log.Info("attempting to acquire leader lease kube-system/kube-scheduler...")
	out := buf.String()
	if strings.Contains(out, "use of closed network connection") {
		t.Errorf("the closed-stream message was logged:\n%s", out)
	}
	for _, want := range []string{"connection reset by peer", "acquire leader lease", "component=klog"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
