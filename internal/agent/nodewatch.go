package agent

import (
	"context"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// watchNode follows this node's object: a new podCIDR configures the pod
// network, after which the status is written at once (the node turns
// Ready without waiting for the next check). Every version seen is stored
// in current, for the parts that read the node (pod admission).
func watchNode(ctx context.Context, client kubernetes.Interface, name string, pn *podNetwork, reporter *nodeReporter, current *atomic.Pointer[corev1.Node]) error {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListFunc: func(opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = sel
			return client.CoreV1().Nodes().List(ctx, opts)
		},
		WatchFunc: func(opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = sel
			return client.CoreV1().Nodes().Watch(ctx, opts)
		},
	}
	changed := make(chan *corev1.Node, 1)
	notify := func(obj any) {
		if n, ok := obj.(*corev1.Node); ok {
			current.Store(n)
			select {
			case <-changed:
			default:
			}
			changed <- n
		}
	}
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &corev1.Node{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: notify, UpdateFunc: func(_, n any) { notify(n) }},
	})
	go informer.Run(ctx.Done())
	var retry <-chan time.Time
	var last *corev1.Node
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-changed:
			last = n
		case <-retry:
		}
		retry = nil
		before := pn.applied
		if err := pn.sync(ctx, last); err != nil {
			pn.log.Error("configure pod network", "err", err)
			retry = time.After(5 * time.Second)
			continue
		}
		if pn.applied != before {
			// The runtime loads the configuration within moments; report
			// Ready as soon as it has.
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			for pn.rt.ready(waitCtx) != nil && waitCtx.Err() == nil {
				select {
				case <-waitCtx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			cancel()
			if err := reporter.sync(ctx); err != nil && ctx.Err() == nil {
				reporter.log.Error("update node status", "err", err)
			}
		}
	}
}
