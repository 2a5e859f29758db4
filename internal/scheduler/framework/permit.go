package framework

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// maxPermitTimeout caps how long a Permit plugin may hold a pod.
const maxPermitTimeout = 15 * time.Minute

// WaitingPod is a pod held by Permit plugins until each allows it, one
// rejects it, or a timeout passes.
type WaitingPod struct {
	Pod *corev1.Pod
	// mu guards pending.
	mu      sync.Mutex
	pending map[string]*time.Timer
	done    chan *Status
}

// Allow lets plugin's hold go; the pod binds once no plugin holds it.
func (w *WaitingPod) Allow(plugin string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.pending[plugin]; ok {
		t.Stop()
		delete(w.pending, plugin)
	}
	if len(w.pending) == 0 {
		w.finish(nil)
	}
}

// Reject fails the pod's scheduling with msg.
func (w *WaitingPod) Reject(plugin, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.pending {
		t.Stop()
	}
	w.finish(NewStatus(Unschedulable, msg).WithPlugin(plugin))
}

// finish delivers the outcome once; w.mu is held.
func (w *WaitingPod) finish(st *Status) {
	select {
	case w.done <- st:
	default:
	}
}

// waitingPods maps pod UIDs to waiting pods.
type waitingPods struct {
	// mu guards pods.
	mu   sync.Mutex
	pods map[string]*WaitingPod
}

// WaitingPod implements Handle.
func (f *Framework) WaitingPod(uid string) *WaitingPod {
	f.waiting.mu.Lock()
	defer f.waiting.mu.Unlock()
	return f.waiting.pods[uid]
}

// RejectWaitingPod rejects a held pod (it was deleted); it reports whether
// the pod was held.
func (f *Framework) RejectWaitingPod(uid string) bool {
	if w := f.WaitingPod(uid); w != nil {
		w.Reject("", "removed")
		return true
	}
	return false
}

// RunPermitPlugins runs Permit. A Wait status means the pod is now held:
// the binding goroutine calls WaitOnPermit.
func (f *Framework) RunPermitPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status {
	waits := map[string]time.Duration{}
	for _, p := range f.permit {
		st, timeout := p.Permit(ctx, state, pod, nodeName)
		switch {
		case st.IsSuccess():
		case st.IsWait():
			waits[p.Name()] = min(timeout, maxPermitTimeout)
		case st.IsRejected():
			return st.WithPlugin(p.Name())
		default:
			return AsStatus(fmt.Errorf("running Permit plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
		}
	}
	if len(waits) == 0 {
		return nil
	}
	w := &WaitingPod{Pod: pod, pending: map[string]*time.Timer{}, done: make(chan *Status, 1)}
	w.mu.Lock()
	for name, d := range waits {
		w.pending[name] = time.AfterFunc(d, func() {
			w.Reject(name, fmt.Sprintf("rejected due to timeout after waiting %v at plugin %v", d, name))
		})
	}
	w.mu.Unlock()
	f.waiting.mu.Lock()
	f.waiting.pods[string(pod.UID)] = w
	f.waiting.mu.Unlock()
	return NewStatus(Wait)
}

// WaitOnPermit blocks until a held pod is allowed or rejected; it returns
// at once for a pod that is not held.
func (f *Framework) WaitOnPermit(ctx context.Context, pod *corev1.Pod) *Status {
	w := f.WaitingPod(string(pod.UID))
	if w == nil {
		return nil
	}
	defer func() {
		f.waiting.mu.Lock()
		delete(f.waiting.pods, string(pod.UID))
		f.waiting.mu.Unlock()
	}()
	select {
	case st := <-w.done:
		return st
	case <-ctx.Done():
		w.Reject("", "scheduler stopping")
		return AsStatus(ctx.Err())
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
