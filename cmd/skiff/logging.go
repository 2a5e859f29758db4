package main

import (
	"context"
	"log/slog"
	"strings"

	"k8s.io/klog/v2"
)

// routeKlog sends the Kubernetes libraries' log lines (leader election,
// client-go, the streaming code) through slog like skiff's own, minus one
// message that is noise: a WebSocket stream the agent closed after an exec
// ends logs "Error on socket receive: … use of closed network connection"
// on every `kubectl exec`.
func routeKlog() {
	klog.SetSlogLogger(slog.New(quietHandler{slog.Default().Handler()}))
}

// quietHandler drops the benign closed-stream errors.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Error on socket receive") && strings.Contains(r.Message, "use of closed network connection") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
