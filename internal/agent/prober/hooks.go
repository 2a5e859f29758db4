package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// HookError is a failed lifecycle hook. Its Error text names the hook and
// the cause; EventMessage gives the kubelet's full FailedPostStartHook /
// FailedPreStopHook message.
type HookError struct {
	// Kind is "Exec", "HTTP" or "Sleep".
	Kind string
	// What identifies the hook: the command, the HTTP path or the seconds.
	What string
	// Output is what an exec hook printed (stdout then stderr).
	Output string
	Err    error
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("%s lifecycle hook (%s) failed - error: %v", e.Kind, e.What, e.Err)
	if e.Kind == "Exec" {
		msg += fmt.Sprintf(", message: %q", e.Output)
	}
	return msg
}

func (e *HookError) Unwrap() error { return e.Err }

// EventMessage is the kubelet's event message for the failed hook of
// container in pod.
func (e *HookError) EventMessage(pod *corev1.Pod, container string) string {
	msg := fmt.Sprintf("%s lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
		e.Kind, e.What, container, fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), e.Err)
	if e.Kind == "Exec" {
		msg += fmt.Sprintf(", message: %q", e.Output)
	}
	return msg
}

// RunHandler runs a lifecycle hook handler (exec, httpGet or sleep) for a
// container and returns an error carrying the output on failure (a
// *HookError). Exec runs until the command exits or ctx ends; httpGet
// fails only when no response arrives (any status code is a response, as
// upstream); sleep ends early with an error when ctx ends.
func RunHandler(ctx context.Context, rt cri.RuntimeService, pod *corev1.Pod, containerID, podIP string, h *corev1.LifecycleHandler) error {
	if h == nil {
		return errors.New("lifecycle hook: no handler")
	}
	switch {
	case h.Exec != nil:
		return runExecHook(ctx, rt, bareID(containerID), h.Exec.Command)
	case h.HTTPGet != nil:
		return runHTTPHook(ctx, pod, containerID, podIP, h.HTTPGet)
	case h.Sleep != nil:
		return runSleepHook(ctx, h.Sleep.Seconds)
	case h.TCPSocket != nil:
		// Deprecated and accepted by the API for compatibility; the kubelet
		// does nothing for it either.
		return nil
	}
	return fmt.Errorf("lifecycle hook: invalid handler: %v", h)
}

func runExecHook(ctx context.Context, rt cri.RuntimeService, containerID string, cmd []string) error {
	hookErr := &HookError{Kind: "Exec", What: fmt.Sprint(cmd)}
	if rt == nil {
		hookErr.Err = errors.New("no container runtime")
		return hookErr
	}
	res, err := rt.ExecSync(ctx, containerID, cmd, 0)
	if err != nil {
		hookErr.Err = err
		return hookErr
	}
	if res.ExitCode != 0 {
		hookErr.Output = string(res.Stdout) + string(res.Stderr)
		hookErr.Err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), res.ExitCode, res.Stderr)
		return hookErr
	}
	return nil
}

// runHTTPHook GETs the hook's URL. When an https hook reaches a plain HTTP
// server it retries with http, as the kubelet does.
func runHTTPHook(ctx context.Context, pod *corev1.Pod, containerID, podIP string, a *corev1.HTTPGetAction) error {
	hookErr := &HookError{Kind: "HTTP", What: a.Path}
	if a.Host == "" && podIP == "" {
		hookErr.Err = errors.New("failed to find networking container: the pod has no IP")
		return hookErr
	}
	req, err := newHTTPRequest(ctx, a, hookContainer(pod, containerID), podIP, "lifecycle")
	if err != nil {
		hookErr.Err = err
		return hookErr
	}
	tr := newProbeTransport()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	err = getAndDiscard(client, req)
	var urlErr *url.Error
	if errors.As(err, &urlErr) && strings.Contains(urlErr.Err.Error(), "server gave HTTP response to HTTPS client") {
		retry := req.Clone(ctx)
		retry.URL.Scheme = "http"
		retry.Header.Del("Authorization")
		if getAndDiscard(client, retry) == nil {
			err = nil
		}
	}
	if err != nil {
		hookErr.Err = err
		return hookErr
	}
	return nil
}

func getAndDiscard(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return nil
}

// hookContainer finds the container a hook runs for, to resolve a named
// port. The hook has only the container ID; with one container whose
// ports name it, any container with that port name resolves it.
func hookContainer(pod *corev1.Pod, containerID string) *corev1.Container {
	merged := &corev1.Container{}
	if pod == nil {
		return merged
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.InitContainerStatuses...) {
		if cs.ContainerID != "" && bareID(cs.ContainerID) == bareID(containerID) {
			if c := findContainer(append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...), cs.Name); c != nil {
				return c
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		merged.Ports = append(merged.Ports, c.Ports...)
	}
	return merged
}

func runSleepHook(ctx context.Context, secs int64) error {
	if sleep(ctx, time.Duration(secs)*time.Second) {
		return nil
	}
	return &HookError{Kind: "Sleep", What: fmt.Sprint(secs), Err: errors.New("container terminated before sleep hook finished")}
}
