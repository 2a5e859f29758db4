package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/skiffhq/skiff/internal/agent"
	"github.com/skiffhq/skiff/internal/auth"
)

// startAgent runs the in-process node agent (unless --disable-agent) as
// the user system:node:<name> in system:nodes, with the server's data dir
// and the control-plane role. Failing to prepare it (no node name, no
// certificate) fails the server; the agent failing later is logged and the
// server keeps serving the API, so the cluster stays inspectable and other
// nodes keep working (upstream k3s exits instead; see docs/joining.md).
func startAgent(ctx context.Context, wg *sync.WaitGroup, o Options, lb *loopback) error {
	if o.DisableAgent {
		return nil
	}
	ao := o.Agent
	if ao.NodeName == "" {
		name, err := DefaultNodeName()
		if err != nil {
			return err
		}
		ao.NodeName = name
	}
	cfg, err := lb.config(auth.NodeUserPrefix+ao.NodeName, auth.GroupNodes)
	if err != nil {
		return err
	}
	ao.Config = cfg
	ao.DataDir = o.DataDir
	ao.ControlPlane = true
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := agent.Run(ctx, ao); err != nil && ctx.Err() == nil {
			slog.Error("in-process agent stopped; the server keeps serving the API", "node", ao.NodeName, "err", err)
		}
	}()
	return nil
}

// DefaultNodeName is the host name in lower case, the node name an agent
// uses without --node-name.
func DefaultNodeName() (string, error) {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("node name: no host name (set --node-name): %v", err)
	}
	return strings.ToLower(h), nil
}
