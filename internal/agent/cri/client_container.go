package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CreateContainer implements RuntimeService.
func (c *Client) CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  podSandboxID,
		Config:        config,
		SandboxConfig: sandboxConfig,
	})
	if err != nil {
		return "", wrap("create container "+config.GetMetadata().GetName()+" in sandbox "+podSandboxID, err)
	}
	return resp.GetContainerId(), nil
}

// StartContainer implements RuntimeService.
func (c *Client) StartContainer(ctx context.Context, containerID string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: containerID}); err != nil {
		return wrap("start container "+containerID, err)
	}
	return nil
}

// StopContainer implements RuntimeService. CRI counts the grace period in
// whole seconds; a partial second is rounded up.
func (c *Client) StopContainer(ctx context.Context, containerID string, gracePeriod time.Duration) error {
	seconds := int64((gracePeriod + time.Second - 1) / time.Second)
	ctx, cancel := callContext(ctx, DefaultTimeout+time.Duration(seconds)*time.Second)
	defer cancel()
	if _, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: containerID, Timeout: seconds}); err != nil {
		return wrap("stop container "+containerID, err)
	}
	return nil
}

// RemoveContainer implements RuntimeService.
func (c *Client) RemoveContainer(ctx context.Context, containerID string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: containerID}); err != nil {
		return wrap("remove container "+containerID, err)
	}
	return nil
}

// ListContainers implements RuntimeService.
func (c *Client) ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: filter})
	if err != nil {
		return nil, wrap("list containers", err)
	}
	return resp.GetContainers(), nil
}

// ContainerStatus implements RuntimeService.
func (c *Client) ContainerStatus(ctx context.Context, containerID string) (*runtimeapi.ContainerStatus, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: containerID})
	if err != nil {
		return nil, wrap("container status "+containerID, err)
	}
	return resp.GetStatus(), nil
}

// UpdateContainerResources implements RuntimeService.
func (c *Client) UpdateContainerResources(ctx context.Context, containerID string, resources *runtimeapi.ContainerResources) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	_, err := c.runtime.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{
		ContainerId: containerID,
		Linux:       resources.GetLinux(),
		Windows:     resources.GetWindows(),
	})
	if err != nil {
		return wrap("update container resources "+containerID, err)
	}
	return nil
}

// ReopenContainerLog implements RuntimeService.
func (c *Client) ReopenContainerLog(ctx context.Context, containerID string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.runtime.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: containerID}); err != nil {
		return wrap("reopen container log "+containerID, err)
	}
	return nil
}

// ContainerStats implements RuntimeService.
func (c *Client) ContainerStats(ctx context.Context, containerID string) (*runtimeapi.ContainerStats, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: containerID})
	if err != nil {
		return nil, wrap("container stats "+containerID, err)
	}
	return resp.GetStats(), nil
}

// ListContainerStats implements RuntimeService.
func (c *Client) ListContainerStats(ctx context.Context, filter *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: filter})
	if err != nil {
		return nil, wrap("list container stats", err)
	}
	return resp.GetStats(), nil
}
