package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/skiffhq/skiff/internal/agent"
	"github.com/skiffhq/skiff/internal/agent/gc"
	"github.com/skiffhq/skiff/internal/agent/network"
)

// nodeFlags are the node agent's flags, shared by `skiff agent` and
// `skiff server` (for its in-process agent).
type nodeFlags struct {
	name, ip, runtime            string
	labels, taints               []string
	kubeReserved, systemReserved string
	evictionHard                 string
	port                         int
	clusterDNS                   []string
	clusterDomain                string
	cniBridge                    string
	imageGCHigh, imageGCLow      int
	apiQPS                       float32
	apiBurst                     int
}

func (n *nodeFlags) bind(f *pflag.FlagSet) {
	n.port = 10250
	n.clusterDomain = "cluster.local"
	f.StringVar(&n.name, "node-name", "", "name of this node (default: the host name, lower case)")
	f.StringVar(&n.ip, "node-ip", "", "IP address the node advertises (default: the address of the default-route interface)")
	f.StringVar(&n.runtime, "container-runtime-endpoint", "", "CRI socket of an existing runtime, e.g. unix:///run/containerd/containerd.sock (default: run a managed containerd)")
	f.StringSliceVar(&n.labels, "node-labels", nil, "labels added to the node at registration: key=value,...")
	f.StringSliceVar(&n.taints, "register-with-taints", nil, "taints added to the node at registration: key=value:Effect,... (Effect: NoSchedule, PreferNoSchedule, NoExecute)")
	f.StringVar(&n.kubeReserved, "kube-reserved", "", "resources reserved for skiff itself: cpu=100m,memory=256Mi,ephemeral-storage=1Gi,pid=1000")
	f.StringVar(&n.systemReserved, "system-reserved", "", "resources reserved for the operating system, same form as --kube-reserved")
	f.StringVar(&n.evictionHard, "eviction-hard", "", "hard eviction thresholds: memory.available<100Mi,nodefs.available<10%,...")
	f.IntVar(&n.port, "port", n.port, "HTTPS port of the agent API (logs, exec, port-forward, stats)")
	f.StringSliceVar(&n.clusterDNS, "cluster-dns", nil, "DNS server IPs written into pods' resolv.conf")
	f.StringVar(&n.clusterDomain, "cluster-domain", n.clusterDomain, "cluster DNS domain")
	f.StringVar(&n.cniBridge, "cni-bridge", network.DefaultBridge, "Linux bridge the pods attach to (give clusters sharing one machine different ones)")
	f.IntVar(&n.imageGCHigh, "image-gc-high-threshold", gc.DefaultHighThresholdPercent, "image filesystem usage percent at which unused images are removed (100: never)")
	f.Float32Var(&n.apiQPS, "kube-api-qps", agent.DefaultKubeAPIQPS, "requests per second the agent may send to the API server")
	f.IntVar(&n.apiBurst, "kube-api-burst", agent.DefaultKubeAPIBurst, "requests the agent may send to the API server in a burst")
	f.IntVar(&n.imageGCLow, "image-gc-low-threshold", gc.DefaultLowThresholdPercent, "image filesystem usage percent image garbage collection frees down to; less than --image-gc-high-threshold")
}

// options parses the flags into agent options (without DataDir, Config
// and ControlPlane, which the caller sets); every bad value is an error
// naming its flag.
func (n *nodeFlags) options() (agent.Options, error) {
	o := agent.Options{NodeName: n.name, NodeIP: n.ip, Port: n.port, ClusterDomain: n.clusterDomain, CNIBridge: n.cniBridge}
	if len(n.cniBridge) == 0 || len(n.cniBridge) > 15 || strings.ContainsAny(n.cniBridge, "/ :") {
		return o, fmt.Errorf("--cni-bridge %q: want an interface name of 1-15 characters without '/', ':' or spaces", n.cniBridge)
	}
	if n.name != "" {
		if errs := validation.IsDNS1123Subdomain(n.name); len(errs) > 0 {
			return o, fmt.Errorf("--node-name %q: %s", n.name, strings.Join(errs, "; "))
		}
	}
	if n.ip != "" && net.ParseIP(n.ip) == nil {
		return o, fmt.Errorf("--node-ip %q: not an IP address", n.ip)
	}
	for _, s := range n.clusterDNS {
		if net.ParseIP(s) == nil {
			return o, fmt.Errorf("--cluster-dns %q: not an IP address", s)
		}
		o.ClusterDNS = append(o.ClusterDNS, s)
	}
	if n.imageGCHigh < 0 || n.imageGCHigh > 100 || n.imageGCLow < 0 || n.imageGCLow >= n.imageGCHigh {
		return o, fmt.Errorf("--image-gc-high-threshold %d, --image-gc-low-threshold %d: want 0 ≤ low < high ≤ 100", n.imageGCHigh, n.imageGCLow)
	}
	o.ImageGCHighThreshold, o.ImageGCLowThreshold = n.imageGCHigh, n.imageGCLow
	if n.apiQPS <= 0 || n.apiBurst <= 0 {
		return o, fmt.Errorf("--kube-api-qps %v, --kube-api-burst %d: want positive values", n.apiQPS, n.apiBurst)
	}
	o.KubeAPIQPS, o.KubeAPIBurst = n.apiQPS, n.apiBurst
	if n.port < 0 || n.port > 65535 {
		return o, fmt.Errorf("--port %d: want 0-65535", n.port)
	}
	var err error
	if o.RuntimeEndpoint, err = parseRuntimeEndpoint(n.runtime); err != nil {
		return o, err
	}
	if o.Labels, err = parseLabels(n.labels); err != nil {
		return o, err
	}
	if o.Taints, err = parseTaints(n.taints); err != nil {
		return o, err
	}
	if o.KubeReserved, err = parseReserved("--kube-reserved", n.kubeReserved); err != nil {
		return o, err
	}
	if o.SystemReserved, err = parseReserved("--system-reserved", n.systemReserved); err != nil {
		return o, err
	}
	if o.EvictionHard, err = parseEvictionHard(n.evictionHard); err != nil {
		return o, err
	}
	return o, nil
}

// parseRuntimeEndpoint accepts unix:///path or an absolute socket path.
func parseRuntimeEndpoint(s string) (string, error) {
	switch {
	case s == "":
		return "", nil
	case strings.HasPrefix(s, "unix:///"):
		return s, nil
	case strings.HasPrefix(s, "/"):
		return "unix://" + s, nil
	default:
		return "", fmt.Errorf("--container-runtime-endpoint %q: want unix:///path/to/socket", s)
	}
}

func parseLabels(items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok {
			return nil, fmt.Errorf("--node-labels %q: want key=value", it)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("--node-labels %q: key: %s", it, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("--node-labels %q: value: %s", it, strings.Join(errs, "; "))
		}
		out[k] = v
	}
	return out, nil
}

// parseTaints reads key=value:Effect or key:Effect items.
func parseTaints(items []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, it := range items {
		kv, effect, ok := strings.Cut(it, ":")
		if !ok {
			return nil, fmt.Errorf("--register-with-taints %q: want key=value:Effect", it)
		}
		k, v, _ := strings.Cut(kv, "=")
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("--register-with-taints %q: key: %s", it, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("--register-with-taints %q: value: %s", it, strings.Join(errs, "; "))
		}
		switch e := corev1.TaintEffect(effect); e {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
			out = append(out, corev1.Taint{Key: k, Value: v, Effect: e})
		default:
			return nil, fmt.Errorf("--register-with-taints %q: effect %q: want NoSchedule, PreferNoSchedule or NoExecute", it, effect)
		}
	}
	return out, nil
}

// reservable are the resources --kube-reserved and --system-reserved take.
var reservable = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, "pid"}

func parseReserved(flag, s string) (corev1.ResourceList, error) {
	if s == "" {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, it := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(it), "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: want name=quantity", flag, it)
		}
		name := corev1.ResourceName(k)
		known := false
		for _, r := range reservable {
			known = known || r == name
		}
		if !known {
			return nil, fmt.Errorf("%s %q: resource %q: want one of %v", flag, it, k, reservable)
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return nil, fmt.Errorf("%s %q: quantity %q: want a non-negative quantity such as 100m or 1Gi", flag, it, v)
		}
		out[name] = q
	}
	return out, nil
}

// evictionSignals are the signals --eviction-hard takes.
var evictionSignals = []string{"memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "pid.available"}

// parseEvictionHard reads signal<threshold items; a threshold is a
// quantity or a percentage.
func parseEvictionHard(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, it := range strings.Split(s, ",") {
		sig, th, ok := strings.Cut(strings.TrimSpace(it), "<")
		if !ok {
			return nil, fmt.Errorf("--eviction-hard %q: want signal<threshold, e.g. memory.available<100Mi", it)
		}
		known := false
		for _, k := range evictionSignals {
			known = known || k == sig
		}
		if !known {
			return nil, fmt.Errorf("--eviction-hard %q: signal %q: want one of %v", it, sig, evictionSignals)
		}
		if pct, isPct := strings.CutSuffix(th, "%"); isPct {
			f, err := strconv.ParseFloat(pct, 64)
			if err != nil || f < 0 || f > 100 {
				return nil, fmt.Errorf("--eviction-hard %q: percentage %q: want 0%%-100%%", it, th)
			}
		} else if q, err := resource.ParseQuantity(th); err != nil || q.Sign() < 0 {
			return nil, fmt.Errorf("--eviction-hard %q: threshold %q: want a quantity (100Mi) or a percentage (10%%)", it, th)
		}
		out[sig] = th
	}
	return out, nil
}
