package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// imagesCommand is `skiff images`: offline image management on a node.
func imagesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "images", Short: "Manage the images of this node's runtime"}
	var dataDir string
	imp := &cobra.Command{
		Use:   "import FILE.tar...",
		Short: "Import docker-archive or OCI-layout tarballs into the node's containerd",
		Long: "Import image tarballs (`docker save` archives or OCI image layouts) into the containerd the\n" +
			"agent manages for DIR, where pods find them without a registry. The agent must be running.\n" +
			"Tarballs placed in DIR/agent/images are imported automatically when the agent starts.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			im, err := cri.ImporterFor(filepath.Join(dataDir, "containerd"))
			if err != nil {
				return err
			}
			for _, f := range args {
				if err := im.Import(cmd.Context(), f); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s\n", f)
			}
			return nil
		},
	}
	imp.Flags().StringVar(&dataDir, "data-dir", ".skiff", "the agent's (or server's) data directory")
	cmd.AddCommand(imp)
	return cmd
}
