package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/skiffhq/skiff/internal/version"
)

// Node labels the agent sets.
const (
	labelHostname     = "kubernetes.io/hostname"
	labelOS           = "kubernetes.io/os"
	labelArch         = "kubernetes.io/arch"
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	// maxPods is the kubelet's default --max-pods.
	maxPods = 110
	// statusReportInterval is how often the status is written even when
	// nothing changed (the lease is the heartbeat; this refreshes
	// lastHeartbeatTime and the free-resource conditions).
	statusReportInterval = time.Minute
	// statusCheckInterval is how often conditions are recomputed.
	statusCheckInterval = 10 * time.Second
)

// nodeStatusSource is what the node status reads from the rest of the
// agent on every check.
type nodeStatusSource struct {
	// runtimeReady reports the runtime's RuntimeReady and NetworkReady
	// conditions as an error naming the one that is not ready.
	runtimeReady func(ctx context.Context) error
	// runtimeVersion is "containerd://1.6.20" or the like.
	runtimeVersion string
	// port is the agent API's port.
	port int
}

// nodeReporter registers the Node and keeps its status current.
type nodeReporter struct {
	client     kubernetes.Interface
	o          *Options
	machine    machineInfo
	thresholds map[string]threshold
	src        nodeStatusSource
	log        *slog.Logger

	// mu serializes sync (the status loop and the node watch both call
	// it) and guards lastWritten.
	mu          sync.Mutex
	lastWritten time.Time
}

// register creates the Node, or brings an existing one's labels up to
// date (a restarted agent keeps the node and its spec).
func (r *nodeReporter) register(ctx context.Context) (*corev1.Node, error) {
	want := r.desiredNode(ctx)
	node, err := r.client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		r.log.Info("registered node", "node", node.Name)
		return node, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("register node %s: %w", want.Name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := r.client.CoreV1().Nodes().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		for k, v := range want.Labels {
			if cur.Labels[k] != v {
				cur.Labels[k] = v
				changed = true
			}
		}
		if !changed {
			node = cur
			return nil
		}
		node, err = r.client.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update node %s: %w", want.Name, err)
	}
	return node, nil
}

// desiredNode is the Node as the agent registers it.
func (r *nodeReporter) desiredNode(ctx context.Context) *corev1.Node {
	labels := map[string]string{
		labelHostname:             r.o.NodeName,
		labelOS:                   "linux",
		labelArch:                 r.machine.arch,
		"beta.kubernetes.io/os":   "linux",
		"beta.kubernetes.io/arch": r.machine.arch,
	}
	if r.o.ControlPlane {
		labels[labelControlPlane] = ""
	}
	for k, v := range r.o.Labels {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: r.o.NodeName, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: r.o.Taints},
	}
	n.Status = r.status(ctx, nil)
	return n
}

// status computes the node's status; old supplies the previous
// conditions so transition times only move on a change.
func (r *nodeReporter) status(ctx context.Context, old *corev1.Node) corev1.NodeStatus {
	capacity := r.machine.capacity(maxPods)
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable(capacity, r.o.KubeReserved, r.o.SystemReserved, r.thresholds),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: r.o.NodeIP},
			{Type: corev1.NodeHostName, Address: r.o.NodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(r.src.port)}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: r.machine.machineID, SystemUUID: r.machine.machineID, BootID: r.machine.bootID,
			KernelVersion: r.machine.kernel, OSImage: r.machine.osImage,
			ContainerRuntimeVersion: r.src.runtimeVersion,
			KubeletVersion:          version.Get().GitVersion, KubeProxyVersion: version.Get().GitVersion,
			OperatingSystem: "linux", Architecture: r.machine.arch,
		},
		Phase: "",
	}
	var prev []corev1.NodeCondition
	if old != nil {
		prev = old.Status.Conditions
		st.Images = old.Status.Images
		st.VolumesInUse, st.VolumesAttached = old.Status.VolumesInUse, old.Status.VolumesAttached
	}
	st.Conditions = r.conditions(ctx, prev)
	return st
}

// conditions computes Ready and the pressure conditions.
func (r *nodeReporter) conditions(ctx context.Context, prev []corev1.NodeCondition) []corev1.NodeCondition {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, pressure bool, trueReason, trueMsg, falseReason, falseMsg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: falseReason, Message: falseMsg,
			LastHeartbeatTime: now, LastTransitionTime: now}
		if pressure {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, trueReason, trueMsg
		}
		for _, p := range prev {
			if p.Type == t && p.Status == c.Status {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		return c
	}
	memPressure, diskPressure, pidPressure := r.pressure()
	ready := corev1.ConditionTrue
	readyReason, readyMsg := "KubeletReady", "kubelet is posting ready status"
	if err := r.src.runtimeReady(ctx); err != nil {
		ready, readyReason, readyMsg = corev1.ConditionFalse, "KubeletNotReady", err.Error()
	}
	readyCond := cond(corev1.NodeReady, ready == corev1.ConditionTrue, readyReason, readyMsg, readyReason, readyMsg)
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, memPressure, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
			"KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, diskPressure, "KubeletHasDiskPressure", "kubelet has disk pressure",
			"KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, pidPressure, "KubeletHasInsufficientPID", "kubelet has insufficient PID available",
			"KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		readyCond,
	}
}

// pressure compares free memory, disk and PIDs with the hard thresholds.
func (r *nodeReporter) pressure() (mem, disk, pid bool) {
	if t, ok := r.thresholds[signalMemoryAvailable]; ok {
		if m, err := meminfo(); err == nil {
			mem = m["MemAvailable"] < t.value(r.machine.memoryBytes)
		}
	}
	if t, ok := r.thresholds[signalNodeFSAvailable]; ok {
		if total, avail, err := diskUsage(r.o.DataDir); err == nil {
			disk = avail < t.value(total)
		}
	}
	if t, ok := r.thresholds[signalPIDAvailable]; ok {
		running, max := pidUsage()
		pid = max-running < t.value(max)
	}
	return mem, disk, pid
}

// sync writes the status when a condition changed or the report interval
// passed.
func (r *nodeReporter) sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := r.client.CoreV1().Nodes().Get(ctx, r.o.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// Deleted by an admin: register again, like the kubelet.
			_, err = r.register(ctx)
			return err
		}
		if err != nil {
			return err
		}
		st := r.status(ctx, node)
		if !r.statusChanged(node.Status, st) && time.Since(r.lastWritten) < statusReportInterval {
			return nil
		}
		node.Status = st
		if _, err := r.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			return err
		}
		r.lastWritten = time.Now()
		return nil
	})
}

// statusChanged compares everything but heartbeat times.
func (r *nodeReporter) statusChanged(old, cur corev1.NodeStatus) bool {
	strip := func(s corev1.NodeStatus) corev1.NodeStatus {
		s = *s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return s
	}
	return !equality.Semantic.DeepEqual(strip(old), strip(cur))
}

// run keeps the status current until ctx ends.
func (r *nodeReporter) run(ctx context.Context) error {
	t := time.NewTicker(statusCheckInterval)
	defer t.Stop()
	for {
		if err := r.sync(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("update node status", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
