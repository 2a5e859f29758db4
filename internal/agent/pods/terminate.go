package pods

import (
	"context"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/agent/prober"
)

// minStopGrace is the least time a container gets to stop once its
// preStop hook ran out of the grace period (the kubelet's two seconds).
const minStopGrace = 2 * time.Second

// terminate stops a pod being deleted: preStop hooks and SIGTERM for app
// containers, then sidecars in reverse order, all within the grace period;
// then it removes the sandbox and volumes, writes the final status and
// deletes the pod object. It reports true when all of that is done.
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod) bool {
	if w.terminatingSince.IsZero() {
		w.terminatingSince = time.Now()
	}
	grace := gracePeriod(pod)
	if isTerminal(pod.Status.Phase) {
		grace = 0
	}
	deadline := w.terminatingSince.Add(grace)
	state, err := observe(ctx, w.m.o.Runtime, w.uid)
	if err != nil {
		w.wakeIn(time.Second)
		return false
	}
	w.stopContainers(ctx, pod, state, deadline)
	if state, err = observe(ctx, w.m.o.Runtime, w.uid); err != nil {
		w.wakeIn(time.Second)
		return false
	}
	if !isTerminal(pod.Status.Phase) {
		status := w.podStatusTerminal(pod, state, true)
		w.m.statuses.set(pod, status)
		if err := w.m.statuses.flush(ctx, pod.UID); err != nil {
			w.m.log.Warn("final status", "pod", w.namespace+"/"+w.name, "err", err)
			w.wakeIn(time.Second)
			return false
		}
	}
	if !w.cleanup(ctx, pod, 0) {
		return false
	}
	uid := pod.UID
	err = w.m.o.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.m.log.Warn("delete pod", "pod", w.namespace+"/"+w.name, "err", err)
		w.wakeIn(time.Second)
		return false
	}
	return true
}

// stopContainers runs preStop hooks and stops the running containers: app
// (and ephemeral) containers together, then sidecars one by one in reverse
// order, then anything left.
func (w *podWorker) stopContainers(ctx context.Context, pod *corev1.Pod, state *podState, deadline time.Time) {
	var wg sync.WaitGroup
	for name, rs := range state.records {
		c, kind := findContainer(pod, name)
		if !rs[0].running() || (kind == kindInit && c != nil) {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.stopContainer(ctx, pod, c, rs[0], deadline) }()
	}
	wg.Wait()
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &pod.Spec.InitContainers[i]
		if r := state.current(c.Name); r != nil && r.running() {
			w.stopContainer(ctx, pod, c, r, deadline)
		}
	}
}

// stopContainer runs c's preStop hook, then stops it with what is left of
// the grace period.
func (w *podWorker) stopContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, r *record, deadline time.Time) {
	m := w.m
	if c != nil {
		m.event(pod, c, corev1.EventTypeNormal, "Killing", "Stopping container "+c.Name)
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && time.Until(deadline) > 0 {
			hctx, cancel := context.WithDeadline(ctx, deadline)
			podIP := ""
			if len(pod.Status.PodIPs) > 0 {
				podIP = pod.Status.PodIPs[0].IP
			}
			if err := prober.RunHandler(hctx, m.o.Runtime, pod, r.id, podIP, c.Lifecycle.PreStop); err != nil {
				m.event(pod, c, corev1.EventTypeWarning, "FailedPreStopHook", hookMessage(pod, c, err))
			}
			cancel()
		}
	}
	grace := time.Until(deadline)
	if grace < minStopGrace && gracePeriod(pod) > 0 {
		grace = minStopGrace
	}
	if grace < 0 {
		grace = 0
	}
	if err := m.o.Runtime.StopContainer(ctx, r.id, grace); err != nil {
		m.log.Warn("stop container", "pod", w.namespace+"/"+w.name, "container", r.name, "err", err)
	}
}

// cleanup stops and removes every sandbox of the pod (and so its
// containers), tears its volumes down and removes its logs. It reports
// whether everything is gone.
func (w *podWorker) cleanup(ctx context.Context, pod *corev1.Pod, grace time.Duration) bool {
	state, err := observe(ctx, w.m.o.Runtime, w.uid)
	if err != nil {
		w.wakeIn(time.Second)
		return false
	}
	if grace > 0 {
		w.stopContainers(ctx, pod, state, time.Now().Add(grace))
	}
	ok := true
	for _, s := range state.sandboxes {
		if err := w.m.o.Runtime.StopPodSandbox(ctx, s.GetId()); err != nil {
			w.m.log.Warn("stop sandbox", "pod", w.namespace+"/"+w.name, "err", err)
			ok = false
			continue
		}
		if err := w.m.o.Runtime.RemovePodSandbox(ctx, s.GetId()); err != nil {
			w.m.log.Warn("remove sandbox", "pod", w.namespace+"/"+w.name, "err", err)
			ok = false
		}
	}
	w.m.probes.Remove(w.uid)
	if err := w.m.o.Volumes.TearDown(ctx, w.uid); err != nil {
		w.m.log.Warn("tear down volumes", "pod", w.namespace+"/"+w.name, "err", err)
		ok = false
	}
	if err := os.RemoveAll(w.m.podLogDir(pod)); err != nil {
		ok = false
	}
	if !ok {
		w.wakeIn(time.Second)
	}
	return ok
}
