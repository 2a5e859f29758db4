package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiffhq/skiff/internal/bench/podstartup"
	"github.com/skiffhq/skiff/internal/bench/scheduling"
)

// benchCommand groups the benchmarks run against a live cluster.
func benchCommand() *cobra.Command {
	var cpuProfile string
	var stopProfile func() error
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a running cluster",
		Args:  cobra.NoArgs,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if cpuProfile == "" {
				return nil
			}
			var err error
			stopProfile, err = startCPUProfile(cpuProfile)
			return err
		},
		PersistentPostRunE: func(*cobra.Command, []string) error {
			if stopProfile == nil {
				return nil
			}
			return stopProfile()
		},
	}
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write the benchmark process's CPU profile (pprof) to this file")
	cmd.AddCommand(benchSchedulerCommand(), benchPodStartupCommand())
	return cmd
}

// startCPUProfile profiles this process into path until the returned
// function is called.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

// benchSchedulerCommand measures scheduling throughput through the API of
// a cluster whose scheduler is running (streaming mode only: the command
// cannot pause that scheduler to build a backlog).
func benchSchedulerCommand() *cobra.Command {
	var kubeconfig string
	o := scheduling.Options{Nodes: 5000, Pods: 30000, Clients: scheduling.DefaultClients, Namespace: "skiff-bench"}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Create fake nodes and pods, measure scheduling throughput and latency, check placements, clean up",
		Long: "Create fake nodes and pods, measure scheduling throughput and latency, check placements, clean up.\n\n" +
			"The fake nodes run no agent and renew no lease: run the server with\n" +
			"--controllers=*,-nodelifecycle,-taint-eviction-controller, or after 40 s node lifecycle marks them\n" +
			"unreachable and taints them NoSchedule, and the rest of the pods cannot be placed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := benchConfig(kubeconfig)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			o.Log = out
			r, err := scheduling.Run(cmd.Context(), cfg, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "nodes:      %d\npods:       %d\nelapsed:    %v\nthroughput: %.0f pods/s\n"+
				"per second: median %d pods/s over %d whole seconds\np50:        %v\np99:        %v\nplacements valid\n",
				r.Nodes, r.Pods, r.Elapsed.Round(time.Millisecond), r.PodsPerSecond, scheduling.Median(r.PerSecond), len(r.PerSecond),
				r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster (e.g. DATA_DIR/admin.kubeconfig)")
	f.IntVar(&o.Nodes, "nodes", o.Nodes, "fake Node objects to create")
	f.IntVar(&o.Pods, "pods", o.Pods, "pods to create (10% with anti-affinity or spread constraints)")
	f.IntVar(&o.Clients, "clients", o.Clients, "parallel API connections creating objects")
	f.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace for the pods (created if missing)")
	return cmd
}

// benchPodStartupCommand measures create-to-Ready latency of pods whose
// image is on the node, on a cluster with a running agent.
func benchPodStartupCommand() *cobra.Command {
	var kubeconfig string
	o := podstartup.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "pod-startup",
		Short: "Create pods in batches, measure create-to-Ready latency (p50/p99), clean up",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := benchConfig(kubeconfig)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			o.Log = out
			r, err := podstartup.Run(cmd.Context(), cfg, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "pods:    %d (batches of %d)\nelapsed: %v\np50:     %v\np99:     %v\nmax:     %v\nbound:   p50 %v, p99 %v (create to scheduled)\n",
				len(r.Latencies), o.Batch, r.Elapsed.Round(time.Millisecond), r.P50.Round(time.Millisecond),
				r.P99.Round(time.Millisecond), r.Latencies[len(r.Latencies)-1].Round(time.Millisecond),
				r.BoundP50.Round(time.Millisecond), r.BoundP99.Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster (e.g. DATA_DIR/admin.kubeconfig)")
	f.IntVar(&o.Pods, "pods", o.Pods, "pods to create")
	f.IntVar(&o.Batch, "batch", o.Batch, "pods created at once; the next batch starts when these are Ready")
	f.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace for the pods (created if missing)")
	f.StringVar(&o.Image, "image", o.Image, "image of the pods; must already be on the nodes")
	return cmd
}

// benchConfig loads the --kubeconfig every bench command requires.
func benchConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return nil, errors.New("--kubeconfig is required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}
