package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/version"
)

// This file holds every subcommand's flags; the work is done in the packages.

func serverCommand() *cobra.Command {
	o := server.DefaultOptions()
	var node nodeFlags // the in-process agent's flags, shared with `skiff agent`
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API server with embedded etcd) and a node agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Agent, err = node.options(); err != nil {
				return err
			}
			server.TuneGC(os.Getenv)
			return server.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for the database, certificates and kubeconfig")
	f.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "address the HTTPS API listens on")
	f.IntVar(&o.HTTPSPort, "https-listen-port", o.HTTPSPort, "HTTPS API port (0 picks a free port)")
	f.StringSliceVar(&o.TLSSANs, "tls-san", nil, "extra host names or IPs for the serving certificate")
	f.StringVar(&o.WriteKubeconfig, "write-kubeconfig", "", "also write the admin kubeconfig to this path")
	f.BoolVar(&o.DisableAgent, "disable-agent", false, "do not run a node agent in the server process")
	f.BoolVar(&o.DisableScheduler, "disable-scheduler", false, "do not run the scheduler in the server process")
	f.StringVar(&o.SchedulerConfig, "scheduler-config", "", "KubeSchedulerConfiguration file (plugin weights, profiles)")
	f.StringSliceVar(&o.Controllers, "controllers", o.Controllers, `controllers to run: "*" all, "foo" to enable, "-foo" to disable (see docs/controllers.md)`)
	f.BoolVar(&o.DisableControllers, "disable-controllers", false, "do not run controllers in the server process")
	f.IntVar(&o.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", o.TerminatedPodGCThreshold, "finished pods kept before the oldest are deleted (0 or less: never)")
	f.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", nil, "external etcd cluster endpoints (default: embedded etcd)")
	f.StringVar(&o.EtcdCertFile, "etcd-certfile", "", "client certificate for the external etcd")
	f.StringVar(&o.EtcdKeyFile, "etcd-keyfile", "", "client key for the external etcd")
	f.StringVar(&o.EtcdCAFile, "etcd-cafile", "", "CA bundle of the external etcd")
	f.DurationVar(&o.ClusterSigningDuration, "cluster-signing-duration", o.ClusterSigningDuration, "longest validity of certificates signed for CertificateSigningRequests (node client certificates)")
	node.bind(f)
	f.DurationVar(&o.EtcdCompactionInterval, "etcd-compaction-interval", o.EtcdCompactionInterval, "how often old etcd revisions are compacted (0 disables)")
	f.StringVar(&o.ServiceCIDR, "service-cidr", o.ServiceCIDR, "IPv4 range for service cluster IPs")
	f.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "range the node IPAM controller cuts node pod CIDRs from")
	f.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "prefix length of each node's pod CIDR")
	f.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "how long a node may renew neither its lease nor its status before it is marked Unknown")
	f.StringVar(&o.NodePortRange, "service-node-port-range", o.NodePortRange, "port range for NodePort services")
	f.DurationVar(&o.EventTTL, "event-ttl", o.EventTTL, "how long events are kept after their last update")
	return cmd
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the skiff version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			data, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "skiff %s\n%s\n", v.GitVersion, data)
			return nil
		},
	}
}

func kubeconfigCommand() *cobra.Command {
	dataDir := server.DefaultOptions().DataDir
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the admin kubeconfig of a server's data directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(filepath.Join(dataDir, "admin.kubeconfig"))
			if err != nil {
				return fmt.Errorf("read kubeconfig (has the server started with --data-dir %s?): %w", dataDir, err)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", dataDir, "the server's data directory")
	return cmd
}
