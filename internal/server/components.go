package server

import (
	"context"
	"sync"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/skiffhq/skiff/internal/apiserver"
	"github.com/skiffhq/skiff/internal/apiserver/admission/priority"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/scheduler"
)

var priorityClassesGVR = schedulingv1.SchemeGroupVersion.WithResource("priorityclasses")

// startControlLoops runs the scheduler and the controller manager in this
// process. Like any client they talk to the API (through the in-process
// transport), each as its own user, and leader-elect so several servers on
// one etcd run one of each.
func startControlLoops(ctx context.Context, cancel context.CancelCauseFunc, wg *sync.WaitGroup, o Options, lb *loopback) error {
	if !o.DisableScheduler {
		cfg, err := lb.config("system:kube-scheduler")
		if err != nil {
			return err
		}
		so := scheduler.DefaultOptions()
		so.ConfigFile = o.SchedulerConfig
		runComponent(ctx, cancel, wg, "scheduler", func(ctx context.Context) error {
			return scheduler.Run(ctx, cfg, so)
		})
	}
	if o.DisableControllers {
		return nil
	}
	cfg, err := lb.config("system:kube-controller-manager")
	if err != nil {
		return err
	}
	mo := managerOptions(o)
	mo.CSRSigningCA, mo.CSRSigningDuration = lb.certs.clientCA, o.ClusterSigningDuration
	mo.RootCA = lb.certs.serverCA.CertPEM
	runComponent(ctx, cancel, wg, "controller manager", func(ctx context.Context) error {
		return manager.Run(ctx, cfg, mo)
	})
	return nil
}

// priorityAdmission resolves pods' priorityClassName from the store (the
// watch cache: a class change is seen as soon as the cache has it, like
// upstream's informer-based plugin sees it).
func priorityAdmission(api func() *apiserver.Server) *priority.Plugin {
	get := func(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
		obj, err := api().Store(priorityClassesGVR).GetCached(ctx, "", name)
		if err != nil {
			return nil, err
		}
		return obj.(*schedulingv1.PriorityClass), nil
	}
	list := func(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
		obj, err := api().Store(priorityClassesGVR).List(ctx, "", registry.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, err
		}
		out := make([]*schedulingv1.PriorityClass, 0, len(items))
		for _, it := range items {
			out = append(out, it.(*schedulingv1.PriorityClass))
		}
		return out, nil
	}
	// A pod without priorityClassName reads the global default: remembered
	// per revision of the watch cache's classes, it costs no list (and no
	// decoding) until a class changes.
	version := func(ctx context.Context) (string, error) {
		return api().Store(priorityClassesGVR).ListRevision(ctx, "", registry.ListOptions{ResourceVersion: "0"})
	}
	return priority.New(get, list).RememberDefault(version)
}

// createSystemPriorityClasses makes sure the built-in classes exist.
func createSystemPriorityClasses(ctx context.Context, api *apiserver.Server) error {
	store := api.Store(priorityClassesGVR)
	for _, pc := range priority.SystemPriorityClasses() {
		if _, err := store.Create(ctx, "", pc, registry.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// managerOptions are the controller manager's options from the flags.
func managerOptions(o Options) manager.Options {
	threshold := o.TerminatedPodGCThreshold
	if threshold <= 0 {
		threshold = -1 // as upstream: 0 or less never deletes finished pods
	}
	return manager.Options{Controllers: o.Controllers, LeaderElection: true, TerminatedPodGCThreshold: threshold,
		ClusterCIDR: o.ClusterCIDR, NodeCIDRMaskSize: o.NodeCIDRMaskSize, NodeMonitorGracePeriod: o.NodeMonitorGracePeriod}
}
