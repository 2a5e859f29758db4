// Package agent is the node agent (skiff's kubelet): it registers the node,
// renews its lease, runs the pods bound to it through CRI and serves the
// agent API the API server proxies logs, exec and port-forward to.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"net"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/objcache"
	"github.com/skiffhq/skiff/internal/agent/pods"
	agentserver "github.com/skiffhq/skiff/internal/agent/server"
	"github.com/skiffhq/skiff/internal/agent/volume"
)

// Options are the `skiff agent` flags (and what `skiff server` passes to
// its in-process agent).
type Options struct {
	// DataDir is DIR: the agent keeps its files in DIR/agent and the
	// managed containerd in DIR/containerd.
	DataDir string
	// NodeName defaults to the hostname; NodeIP to the address of the
	// interface holding the default route (or the first non-loopback one).
	NodeName string
	NodeIP   string
	// RuntimeEndpoint is a CRI socket to use instead of a managed
	// containerd ("unix:///run/containerd/containerd.sock").
	RuntimeEndpoint string
	// CNIConfDir is where the agent writes the pod network configuration
	// for the runtime; empty means the managed containerd's own
	// (DIR/containerd/cni/net.d), or /etc/cni/net.d with RuntimeEndpoint.
	CNIConfDir string
	// CNIBridge names the pods' Linux bridge; empty means "skiff0". Several
	// agents on one machine (tests) need different ones.
	CNIBridge string
	// Config is how the agent reaches the API server, with its own
	// credentials (a node client certificate, renewed by whoever built it).
	Config *rest.Config
	// ControlPlane labels the node node-role.kubernetes.io/control-plane.
	ControlPlane bool
	// Labels and Taints are added to the node at registration.
	Labels map[string]string
	Taints []corev1.Taint
	// KubeReserved and SystemReserved are subtracted from capacity, with
	// the hard eviction thresholds, to give allocatable.
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	// EvictionHard maps signals ("memory.available", "nodefs.available",
	// "imagefs.available", "pid.available") to thresholds ("100Mi", "10%").
	EvictionHard map[string]string
	// Port is the agent API's HTTPS port (10250); 0 picks a free one,
	// published in the node's status.daemonEndpoints.
	Port int
	// ClusterDNS and ClusterDomain go into pods' resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
	// ImageGCHighThreshold and ImageGCLowThreshold are the image
	// filesystem usage percents at which unused images are removed and
	// down to which; both zero means 85 and 80.
	ImageGCHighThreshold, ImageGCLowThreshold int
	// KubeAPIQPS and KubeAPIBurst limit the agent's API client; zero means
	// DefaultKubeAPIQPS and DefaultKubeAPIBurst. client-go's own default
	// (5 QPS) would space the requests of pods started together 200 ms apart.
	KubeAPIQPS   float32
	KubeAPIBurst int
}

// DefaultKubeAPIQPS and DefaultKubeAPIBurst are the agent's API client
// limits unless set (the kubelet's --kube-api-qps and --kube-api-burst
// defaults).
const (
	DefaultKubeAPIQPS   = 50
	DefaultKubeAPIBurst = 100
)

// eventsQPS and eventsBurst limit the agent's event client (the kubelet's
// --event-qps and --event-burst defaults).
const (
	eventsQPS   = 50
	eventsBurst = 100
)

// Run runs the agent until ctx ends: it starts the runtime, registers the
// node, then keeps the lease, the node status and the pod network current.
// A part that fails stops the agent with its error.
func Run(ctx context.Context, o Options) error {
	if err := o.complete(); err != nil {
		return err
	}
	log := slog.Default().With("component", "agent", "node", o.NodeName)
	thresholds, err := parseThresholds(o.EvictionHard)
	if err != nil {
		return err
	}
	for _, d := range []string{"agent/pods", "agent/logs", "agent/images", "agent/manifests"} {
		if err := os.MkdirAll(filepath.Join(o.DataDir, d), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	machine, err := readMachine(o.DataDir)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(o.Config)
	if err != nil {
		return fmt.Errorf("agent client: %w", err)
	}

	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	run := func(name string, f func(context.Context) error) {
		g.Go(func() error {
			if err := f(ctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	err = func() error {
		// 1. The runtime, with skiff's images in it.
		rt, err := startRuntime(ctx, &o, run, log)
		if err != nil {
			return err
		}
		if err := rt.importImages(ctx, filepath.Join(o.DataDir, "agent", "images"), log); err != nil {
			return fmt.Errorf("import images: %w", err)
		}

		// 2. The agent API, on its port before the Node publishes it.
		ln, tlsConfig, err := listenAPI(ctx, client, &o)
		if err != nil {
			return err
		}
		port := ln.Addr().(*net.TCPAddr).Port

		// 3. The Node, its lease and status.
		reporter := &nodeReporter{client: client, o: &o, machine: machine, thresholds: thresholds, log: log,
			src: nodeStatusSource{runtimeReady: rt.ready, runtimeVersion: rt.version, port: port}}
		node, err := reporter.register(ctx)
		if err != nil {
			ln.Close()
			return err
		}
		leases := &leaseRenewer{client: client, nodeName: o.NodeName, nodeUID: node.UID, interval: nodeLeaseRenewInterval, log: log}
		run("node lease", leases.run)
		run("node status", reporter.run)

		// 4. The pod network follows the node's podCIDR.
		pn := &podNetwork{rt: rt, dataDir: o.DataDir, bridge: o.CNIBridge, log: log}
		var current atomic.Pointer[corev1.Node]
		current.Store(node)
		run("pod network", func(ctx context.Context) error {
			return watchNode(ctx, client, o.NodeName, pn, reporter, &current)
		})

		// 5. The pods, and the API that serves their logs and streams.
		// Events have their own client and rate limit, as the kubelet's do:
		// a burst of them never delays pod status or volume reads.
		eventsConfig := rest.CopyConfig(o.Config)
		eventsConfig.QPS, eventsConfig.Burst = eventsQPS, eventsBurst
		eventClient, err := kubernetes.NewForConfig(eventsConfig)
		if err != nil {
			ln.Close()
			return fmt.Errorf("agent event client: %w", err)
		}
		recorder, stopEvents := eventRecorder(eventClient, o.NodeName)
		allocatable := func() corev1.ResourceList {
			return allocatable(machine.capacity(maxPods), o.KubeReserved, o.SystemReserved, thresholds)
		}
		// ConfigMaps, Secrets and Services the pods read come from watches;
		// a change wakes the pods whose volumes project it.
		var podManager *pods.Manager
		objects := objcache.New(objcache.Options{Client: client, OnChange: func(kind objcache.Kind, ns, name string) {
			podManager.ObjectChanged(kind, ns, name)
		}})
		volumes := volume.NewManager(volume.Options{Root: filepath.Join(o.DataDir, "agent", "pods"), Client: client,
			Objects: objects, NodeName: o.NodeName, NodeAllocatable: allocatable})
		podManager, err = pods.NewManager(pods.Options{
			NodeName: o.NodeName, NodeIP: o.NodeIP, Client: client, Runtime: rt.client, Volumes: volumes,
			Recorder: recorder, PodLogDir: filepath.Join(o.DataDir, "agent", "logs"),
			ClusterDNS: o.ClusterDNS, ClusterDomain: o.ClusterDomain, NodeAllocatable: allocatable, Node: current.Load,
			StaticPodDir: filepath.Join(o.DataDir, "agent", "manifests"), EnvSource: objects,
			Log: log.With("component", "pods"),
		})
		if err != nil {
			ln.Close()
			stopEvents()
			return err
		}
		run("object cache", objects.Run)
		run("pods", func(ctx context.Context) error {
			defer stopEvents()
			return podManager.Run(ctx)
		})
		run("garbage collector", gc.New(gc.Options{Runtime: rt.client, NodeName: o.NodeName, Recorder: recorder, PodLogDir: filepath.Join(o.DataDir, "agent", "logs"), HighThresholdPercent: o.ImageGCHighThreshold, LowThresholdPercent: o.ImageGCLowThreshold, Log: log.With("component", "gc")}).Start)
		api := agentserver.New(agentserver.Options{NodeName: o.NodeName, Runtime: rt.client, Pods: podManager.Pods,
			Log: log.With("component", "agent-api")})
		run("agent API", func(ctx context.Context) error { return serveAPI(ctx, ln, tlsConfig, api.Handler()) })
		return nil
	}()
	if err != nil {
		g.Go(func() error { return err })
	}
	if err := g.Wait(); err != nil && parent.Err() == nil {
		return err
	}
	return nil
}

// complete fills defaults and checks the options.
func (o *Options) complete() error {
	if o.Config == nil {
		return errors.New("agent: no API server configuration")
	}
	if o.DataDir == "" {
		return errors.New("agent: no data dir")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	o.DataDir = abs
	if o.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w", err)
		}
		o.NodeName = strings.ToLower(h)
	}
	if errs := validation.IsDNS1123Subdomain(o.NodeName); len(errs) > 0 {
		return fmt.Errorf("node name %q: %s", o.NodeName, strings.Join(errs, "; "))
	}
	if o.NodeIP == "" {
		if o.NodeIP, err = defaultNodeIP(); err != nil {
			return err
		}
	} else if _, err := netip.ParseAddr(o.NodeIP); err != nil {
		return fmt.Errorf("node IP %q: %w", o.NodeIP, err)
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = "cluster.local"
	}
	if o.KubeAPIQPS == 0 {
		o.KubeAPIQPS = DefaultKubeAPIQPS
	}
	if o.KubeAPIBurst == 0 {
		o.KubeAPIBurst = DefaultKubeAPIBurst
	}
	if o.KubeAPIQPS < 0 || o.KubeAPIBurst < 0 {
		return fmt.Errorf("agent: API client QPS %v and burst %d must not be negative", o.KubeAPIQPS, o.KubeAPIBurst)
	}
	o.Config = rest.CopyConfig(o.Config)
	o.Config.QPS, o.Config.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	return nil
}
