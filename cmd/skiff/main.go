// Command skiff is the whole orchestrator in one binary: the server (API,
// storage, scheduler, controllers), the node agent and the tools around them.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	routeKlog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "skiff",
		Short:         "skiff is a Kubernetes-compatible container orchestrator in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), agentCommand(), versionCommand(), kubeconfigCommand(), benchCommand(), imagesCommand())
	if err := root.ExecuteContext(ctx); err != nil {
		slog.Error("skiff failed", "err", err)
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
