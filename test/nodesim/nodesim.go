// Package nodesim simulates node agents for tests, until the real agent
// exists: it registers Node objects (Ready, with allocatable resources) and
// does for the pods bound to them what a kubelet would, through the API
// only — report them Running and Ready (container statuses, conditions, pod
// IP), finish them on request, and remove pods being deleted at once.
// Optionally it also binds unscheduled pods round-robin through
// pods/binding, standing in for a scheduler.
//
// It is test-only: nothing in skiff imports it.
package nodesim

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Options configure the simulated nodes.
type Options struct {
	// Count is the number of nodes; default 1.
	Count int
	// Prefix names the nodes Prefix-0, Prefix-1, ...; default "nodesim".
	Prefix string
	// Bind makes the simulator bind unscheduled pods to its nodes.
	Bind bool
	// NotReady keeps the pods it matches Running but never Ready.
	NotReady func(*corev1.Pod) bool
	// StartDelay, when set, is how long after the simulator first sees a
	// bound pod it reports the pod Running (a slow image pull).
	StartDelay func(*corev1.Pod) time.Duration
	// Workers is the number of pods handled at once; default 16.
	Workers int
}

// Nodes is a running set of simulated nodes.
type Nodes struct {
	client   kubernetes.Interface
	o        Options
	names    []string
	ours     map[string]bool
	pods     corelisters.PodLister
	queue    workqueue.TypedRateLimitingInterface[string]
	cancel   context.CancelFunc
	done     sync.WaitGroup
	nextNode atomic.Uint64
	nextIP   atomic.Uint32

	// mu guards finish and startAt.
	mu sync.Mutex
	// finish holds the terminal phase requested for a pod key.
	finish map[string]corev1.PodPhase
	// startAt is when a delayed pod may start, by pod UID.
	startAt map[string]time.Time
}

// Start registers the nodes and runs the simulator until the test ends.
func Start(t testing.TB, client kubernetes.Interface, o Options) *Nodes {
	t.Helper()
	if o.Count <= 0 {
		o.Count = 1
	}
	if o.Prefix == "" {
		o.Prefix = "nodesim"
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	n := &Nodes{
		client: client, o: o, ours: map[string]bool{}, finish: map[string]corev1.PodPhase{}, startAt: map[string]time.Time{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, time.Second)),
	}
	for i := range o.Count {
		name := fmt.Sprintf("%s-%d", o.Prefix, i)
		n.names = append(n.names, name)
		n.ours[name] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	t.Cleanup(n.Stop)
	if err := n.register(ctx); err != nil {
		t.Fatalf("nodesim: register nodes: %v", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().Pods()
	n.pods = inf.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			n.queue.Add(key)
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		t.Fatalf("nodesim: pod cache did not sync")
	}
	for range o.Workers {
		n.done.Add(1)
		go func() {
			defer n.done.Done()
			for n.next(ctx) {
			}
		}()
	}
	n.done.Add(1)
	go func() {
		defer n.done.Done()
		<-ctx.Done()
		n.queue.ShutDown()
		factory.Shutdown()
	}()
	return n
}

// Names returns the node names.
func (n *Nodes) Names() []string { return append([]string(nil), n.names...) }

// Stop stops the simulator (the Node objects stay); safe to call twice.
func (n *Nodes) Stop() {
	n.cancel()
	n.done.Wait()
}

// Finish makes the pod ns/name end in phase (Succeeded or Failed), with
// its containers terminated with exit code 0 or 1.
func (n *Nodes) Finish(namespace, name string, phase corev1.PodPhase) {
	key := namespace + "/" + name
	n.mu.Lock()
	n.finish[key] = phase
	n.mu.Unlock()
	n.queue.Add(key)
}

// register creates (or refreshes) the Node objects, 16 at a time.
func (n *Nodes) register(ctx context.Context) error {
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(n.names))
	var wg sync.WaitGroup
	for _, name := range n.names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := n.client.CoreV1().Nodes().Create(ctx, node(name), metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				errs <- fmt.Errorf("create node %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func node(name string) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
		}},
		Status: corev1.NodeStatus{
			Capacity: res, Allocatable: res,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "nodesim is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
			}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.32.0-nodesim", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

func (n *Nodes) next(ctx context.Context) bool {
	key, quit := n.queue.Get()
	if quit {
		return false
	}
	defer n.queue.Done(key)
	if err := n.sync(ctx, key); err != nil && ctx.Err() == nil {
		n.queue.AddRateLimited(key)
		return true
	}
	n.queue.Forget(key)
	return true
}

// sync does what a node would for one pod.
func (n *Nodes) sync(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := n.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		if n.o.Bind && pod.DeletionTimestamp == nil {
			return n.bind(ctx, pod)
		}
		return nil
	}
	if !n.ours[pod.Spec.NodeName] {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		zero := int64(0)
		uid := pod.UID
		err := n.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	n.mu.Lock()
	phase, finishing := n.finish[key]
	n.mu.Unlock()
	switch {
	case finishing && pod.Status.Phase != phase:
		return n.updateStatus(ctx, finished(pod, phase))
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	}
	ready := n.o.NotReady == nil || !n.o.NotReady(pod)
	if pod.Status.Phase == corev1.PodRunning && podReady(pod) == ready {
		return nil
	}
	if wait := n.startDelay(pod); wait > 0 {
		n.queue.AddAfter(key, wait)
		return nil
	}
	return n.updateStatus(ctx, n.running(pod, ready))
}

// startDelay returns how long pod must still wait to start.
func (n *Nodes) startDelay(pod *corev1.Pod) time.Duration {
	if n.o.StartDelay == nil || pod.Status.Phase == corev1.PodRunning {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.startAt[string(pod.UID)]
	if !ok {
		at = time.Now().Add(n.o.StartDelay(pod))
		n.startAt[string(pod.UID)] = at
	}
	return time.Until(at)
}

func (n *Nodes) bind(ctx context.Context, pod *corev1.Pod) error {
	target := n.names[n.nextNode.Add(1)%uint64(len(n.names))]
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: target},
	}
	err := n.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or bound meanwhile
	}
	return err
}

func (n *Nodes) updateStatus(ctx context.Context, pod *corev1.Pod) error {
	_, err := n.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// running returns pod reported Running, Ready or not.
func (n *Nodes) running(pod *corev1.Pod, ready bool) *corev1.Pod {
	p := pod.DeepCopy()
	now := metav1.Now()
	if p.Status.PodIP == "" {
		c := n.nextIP.Add(1)
		ip := fmt.Sprintf("10.%d.%d.%d", 128+(c>>16)&63, (c>>8)&255, c&255)
		p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
		p.Status.HostIP, p.Status.HostIPs = "192.0.2.1", []corev1.HostIP{{IP: "192.0.2.1"}}
	}
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Phase = corev1.PodRunning
	readyStatus := corev1.ConditionFalse
	if ready {
		readyStatus = corev1.ConditionTrue
	}
	for _, c := range []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: readyStatus},
		{Type: corev1.PodReady, Status: readyStatus},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	} {
		c.LastTransitionTime = now
		setCondition(p, c)
	}
	p.Status.ContainerStatuses = nil
	started := true
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "nodesim://" + c.Image, ContainerID: "nodesim://" + string(p.UID) + "/" + c.Name,
			Ready: ready, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: *p.Status.StartTime}},
		})
	}
	return p
}

// finished returns pod ended in phase.
func finished(pod *corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	p := pod.DeepCopy()
	now := metav1.Now()
	p.Status.Phase = phase
	code, reason := int32(0), "Completed"
	if phase == corev1.PodFailed {
		code, reason = 1, "Error"
	}
	for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		setCondition(p, corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = nil
	started := false
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: &started,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: now}},
		})
	}
	return p
}

// setCondition sets c, keeping the transition time when the status holds.
func setCondition(p *corev1.Pod, c corev1.PodCondition) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == c.Type {
			if p.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = p.Status.Conditions[i].LastTransitionTime
			}
			p.Status.Conditions[i] = c
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, c)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
