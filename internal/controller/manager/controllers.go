package manager

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/cronjob"
	"github.com/skiffhq/skiff/internal/controller/csrapproving"
	"github.com/skiffhq/skiff/internal/controller/csrsigning"
	"github.com/skiffhq/skiff/internal/controller/daemonset"
	"github.com/skiffhq/skiff/internal/controller/deployment"
	"github.com/skiffhq/skiff/internal/controller/disruption"
	"github.com/skiffhq/skiff/internal/controller/garbagecollector"
	"github.com/skiffhq/skiff/internal/controller/job"
	"github.com/skiffhq/skiff/internal/controller/namespace"
	"github.com/skiffhq/skiff/internal/controller/nodeipam"
	"github.com/skiffhq/skiff/internal/controller/nodelifecycle"
	"github.com/skiffhq/skiff/internal/controller/podgc"
	"github.com/skiffhq/skiff/internal/controller/replicaset"
	"github.com/skiffhq/skiff/internal/controller/rootcacertpublisher"
	"github.com/skiffhq/skiff/internal/controller/serviceaccount"
	"github.com/skiffhq/skiff/internal/controller/statefulset"
	"github.com/skiffhq/skiff/internal/controller/taineviction"
	"github.com/skiffhq/skiff/internal/controller/ttlafterfinished"
)

// starter builds one controller for a leadership term.
type starter func(c *controller.Context, o Options) (controller.Runnable, error)

// knownController is one controller the manager can run.
type knownController struct {
	// name is what --controllers uses; alias is the upstream
	// "<name>-controller" spelling, accepted too.
	name, alias string
	start       starter
}

// knownControllers lists every controller in start order. A new controller
// is one line here.
var knownControllers = []knownController{
	{"namespace", "namespace-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return namespace.New(c), nil
	}},
	{"garbagecollector", "garbage-collector-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return garbagecollector.New(c, garbagecollector.Config{DiscoveryPeriod: o.GCDiscoveryPeriod}), nil
	}},
	{"serviceaccount", "serviceaccount-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return serviceaccount.New(c), nil
	}},
	{"root-ca-cert-publisher", "root-ca-certificate-publisher-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return rootcacertpublisher.New(c, o.RootCA), nil
	}},
	{"podgc", "pod-garbage-collector-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return podgc.New(c, podgc.Config{
			TerminatedPodThreshold: o.TerminatedPodGCThreshold,
			Period:                 o.PodGCPeriod,
			Quarantine:             o.PodGCQuarantine,
		}), nil
	}},
	{"replicaset", "replicaset-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return replicaset.New(c), nil
	}},
	{"deployment", "deployment-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return deployment.New(c), nil
	}},
	{"statefulset", "statefulset-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return statefulset.New(c), nil
	}},
	{"daemonset", "daemonset-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return daemonset.New(c), nil
	}},
	{"job", "job-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return job.New(c, job.Config{}), nil
	}},
	{"ttlafterfinished", "ttl-after-finished-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return ttlafterfinished.New(c, ttlafterfinished.Config{}), nil
	}},
	{"cronjob", "cronjob-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return cronjob.New(c, cronjob.Config{}), nil
	}},
	{"disruption", "disruption-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) { return disruption.New(c), nil }},
	{"csrapproving", "certificatesigningrequest-approving-controller", func(c *controller.Context, _ Options) (controller.Runnable, error) {
		return csrapproving.New(c), nil
	}},
	{"csrsigning", "certificatesigningrequest-signing-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return csrsigning.New(c, csrsigning.Config{CA: o.CSRSigningCA, MaxDuration: o.CSRSigningDuration}), nil
	}},
	{"nodeipam", "node-ipam-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return nodeipam.New(c, nodeIPAMConfig(o))
	}},
	{"nodelifecycle", "node-lifecycle-controller", func(c *controller.Context, o Options) (controller.Runnable, error) {
		return nodelifecycle.New(c, nodelifecycle.Config{GracePeriod: o.NodeMonitorGracePeriod})
	}},
	{taineviction.Name, "taineviction", func(c *controller.Context, _ Options) (controller.Runnable, error) { return taineviction.New(c) }},
}

// KnownControllers returns the names --controllers accepts, in start order.
func KnownControllers() []string {
	out := make([]string, 0, len(knownControllers))
	for _, k := range knownControllers {
		out = append(out, k.name)
	}
	return out
}

// selectControllers applies --controllers semantics like upstream: "*" turns
// on every controller, "foo" turns foo on and "-foo" turns it off, the
// latter winning. Unknown names are refused.
func selectControllers(list []string) ([]knownController, error) {
	if len(list) == 0 {
		list = []string{"*"}
	}
	canonical := func(name string) (string, bool) {
		for _, k := range knownControllers {
			if name == k.name || name == k.alias {
				return k.name, true
			}
		}
		return "", false
	}
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, raw := range list {
		item := strings.TrimSpace(raw)
		switch {
		case item == "*":
			star = true
		case strings.HasPrefix(item, "-"):
			name, ok := canonical(item[1:])
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: *, %s)", item[1:], strings.Join(KnownControllers(), ", "))
			}
			off[name] = true
		default:
			name, ok := canonical(item)
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: *, %s)", item, strings.Join(KnownControllers(), ", "))
			}
			on[name] = true
		}
	}
	var out []knownController
	for _, k := range knownControllers {
		if off[k.name] || !(star || on[k.name]) {
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

// enabledNames lists the names of ks.
func enabledNames(ks []knownController) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.name)
	}
	return slices.Clip(out)
}
