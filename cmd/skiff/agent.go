package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/internal/agent"
	"github.com/skiffhq/skiff/internal/agent/bootstrap"
	"github.com/skiffhq/skiff/internal/server"
)

// agentFlags are `skiff agent`'s own flags besides the shared node flags.
type agentFlags struct {
	server, token, tokenFile, dataDir string
	certExpiration                    int32
	node                              nodeFlags
}

func agentCommand() *cobra.Command {
	a := &agentFlags{dataDir: server.DefaultOptions().DataDir}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent that joins a cluster (see docs/joining.md)",
		Long: `Run a node agent that joins the cluster at --server with the join token the
server printed (also in the server's DATA_DIR/server/token). The first start
checks the server's CA against the hash in the token, gets a client
certificate for system:node:<node name> and keeps it in DATA_DIR/agent/pki;
later starts reuse it, and it is renewed before it expires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bo, ao, err := a.options()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, err := bootstrap.Config(ctx, bo)
			if err != nil {
				return err
			}
			ao.Config = cfg
			return agent.Run(ctx, ao)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.server, "server", "", "URL of the API server, e.g. https://10.0.0.1:6443 (required)")
	f.StringVar(&a.token, "token", "", "join token K10<ca hash>::<id>.<secret> (needed until the node has a certificate)")
	f.StringVar(&a.tokenFile, "token-file", "", "file holding the join token")
	f.StringVar(&a.dataDir, "data-dir", a.dataDir, "directory for the agent's certificates, state and managed containerd")
	f.Int32Var(&a.certExpiration, "certificate-expiration-seconds", 0, "requested validity of the node's client certificate (at least 600; default: the server's maximum)")
	a.node.bind(f)
	return cmd
}

// options checks the flags and returns the bootstrap and agent options.
func (a *agentFlags) options() (bootstrap.Options, agent.Options, error) {
	if a.server == "" {
		return bootstrap.Options{}, agent.Options{}, errors.New("--server is required")
	}
	if !strings.HasPrefix(a.server, "https://") {
		return bootstrap.Options{}, agent.Options{}, fmt.Errorf("--server %q: want an https:// URL", a.server)
	}
	token := a.token
	if a.tokenFile != "" {
		if token != "" {
			return bootstrap.Options{}, agent.Options{}, errors.New("--token and --token-file: give one, not both")
		}
		data, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return bootstrap.Options{}, agent.Options{}, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	if a.certExpiration != 0 && a.certExpiration < 600 {
		return bootstrap.Options{}, agent.Options{}, fmt.Errorf("--certificate-expiration-seconds %d: must be at least 600", a.certExpiration)
	}
	ao, err := a.node.options()
	if err != nil {
		return bootstrap.Options{}, agent.Options{}, err
	}
	if ao.NodeName == "" {
		if ao.NodeName, err = server.DefaultNodeName(); err != nil {
			return bootstrap.Options{}, agent.Options{}, err
		}
	}
	ao.DataDir = a.dataDir
	bo := bootstrap.Options{Server: a.server, Token: token, DataDir: a.dataDir, NodeName: ao.NodeName,
		ExpirationSeconds: a.certExpiration}
	return bo, ao, nil
}
