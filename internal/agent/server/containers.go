package server

import (
	"context"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// containerRef names a container of a pod.
type containerRef struct {
	Namespace, Pod, Container string
}

// instances lists the runtime's instances of a container, newest first (by
// the restart count annotation, then creation time).
func (s *Server) instances(ctx context.Context, ref containerRef) ([]*runtimeapi.Container, error) {
	list, err := s.o.Runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{
		cri.LabelPodNamespace:  ref.Namespace,
		cri.LabelPodName:       ref.Pod,
		cri.LabelContainerName: ref.Container,
	}})
	if err != nil {
		return nil, err
	}
	restarts := func(c *runtimeapi.Container) int {
		n, _ := strconv.Atoi(c.GetAnnotations()[cri.AnnotationRestartCount])
		return n
	}
	sort.SliceStable(list, func(i, j int) bool {
		if ri, rj := restarts(list[i]), restarts(list[j]); ri != rj {
			return ri > rj
		}
		return list[i].GetCreatedAt() > list[j].GetCreatedAt()
	})
	return list, nil
}

// runningContainer returns the ID of the running instance of a container
// (exec, attach).
func (s *Server) runningContainer(ctx context.Context, ref containerRef) (string, error) {
	list, err := s.instances(ctx, ref)
	if err != nil {
		return "", err
	}
	for _, c := range list {
		if c.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING {
			return c.GetId(), nil
		}
	}
	if len(list) == 0 {
		if s.podSpecHas(ref) {
			return "", badRequest("container %q in pod %q is waiting to start: %s", ref.Container, ref.Pod, s.waitingReason(ref))
		}
		return "", notFound("container not found (%q)", ref.Container)
	}
	return "", badRequest("container %s is not running", ref.Container)
}

// logContainer returns the instance whose log a logs request reads: the
// newest, or with previous the one before it, which must have exited.
func (s *Server) logContainer(ctx context.Context, ref containerRef, previous bool) (*runtimeapi.ContainerStatus, error) {
	list, err := s.instances(ctx, ref)
	if err != nil {
		return nil, err
	}
	idx := 0
	if previous {
		idx = 1
	}
	if idx >= len(list) || (previous && list[idx].GetState() != runtimeapi.ContainerState_CONTAINER_EXITED) {
		if previous {
			return nil, badRequest("previous terminated container %q in pod %q not found", ref.Container, ref.Pod)
		}
		return nil, badRequest("container %q in pod %q is waiting to start: %s", ref.Container, ref.Pod, s.waitingReason(ref))
	}
	st, err := s.o.Runtime.ContainerStatus(ctx, list[idx].GetId())
	if err != nil {
		return nil, err
	}
	if st.GetState() == runtimeapi.ContainerState_CONTAINER_CREATED {
		return nil, badRequest("container %q in pod %q is waiting to start: ContainerCreating", ref.Container, ref.Pod)
	}
	return st, nil
}

// pod returns the agent's pod ref names, or nil.
func (s *Server) pod(namespace, name string) *corev1.Pod {
	for _, p := range s.o.Pods() {
		if p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

// podSpecHas reports whether the pod is known and declares the container.
func (s *Server) podSpecHas(ref containerRef) bool {
	p := s.pod(ref.Namespace, ref.Pod)
	if p == nil {
		return false
	}
	for _, c := range p.Spec.InitContainers {
		if c.Name == ref.Container {
			return true
		}
	}
	for _, c := range p.Spec.Containers {
		if c.Name == ref.Container {
			return true
		}
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == ref.Container {
			return true
		}
	}
	return false
}

// waitingReason is the reason the pod status gives for a container that
// has not started, ContainerCreating when it gives none.
func (s *Server) waitingReason(ref containerRef) string {
	if p := s.pod(ref.Namespace, ref.Pod); p != nil {
		all := append(append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...),
			p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
		for _, st := range all {
			if st.Name == ref.Container && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
				return st.State.Waiting.Reason
			}
		}
	}
	return "ContainerCreating"
}

// readySandbox returns the ID of the pod's ready sandbox (port-forward).
func (s *Server) readySandbox(ctx context.Context, namespace, pod string) (string, error) {
	list, err := s.o.Runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		LabelSelector: map[string]string{cri.LabelPodNamespace: namespace, cri.LabelPodName: pod},
	})
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", notFound("pod not found (%q)", namespace+"/"+pod)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].GetCreatedAt() > list[j].GetCreatedAt() })
	return list[0].GetId(), nil
}
