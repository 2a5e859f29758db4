package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RunPodSandbox implements RuntimeService.
func (c *Client) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: config, RuntimeHandler: runtimeHandler})
	if err != nil {
		return "", wrap("run pod sandbox "+config.GetMetadata().GetNamespace()+"/"+config.GetMetadata().GetName(), err)
	}
	return resp.GetPodSandboxId(), nil
}

// StopPodSandbox implements RuntimeService.
func (c *Client) StopPodSandbox(ctx context.Context, podSandboxID string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podSandboxID}); err != nil {
		return wrap("stop pod sandbox "+podSandboxID, err)
	}
	return nil
}

// RemovePodSandbox implements RuntimeService.
func (c *Client) RemovePodSandbox(ctx context.Context, podSandboxID string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podSandboxID}); err != nil {
		return wrap("remove pod sandbox "+podSandboxID, err)
	}
	return nil
}

// PodSandboxStatus implements RuntimeService.
func (c *Client) PodSandboxStatus(ctx context.Context, podSandboxID string) (*runtimeapi.PodSandboxStatus, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podSandboxID})
	if err != nil {
		return nil, wrap("pod sandbox status "+podSandboxID, err)
	}
	return resp.GetStatus(), nil
}

// ListPodSandbox implements RuntimeService.
func (c *Client) ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: filter})
	if err != nil {
		return nil, wrap("list pod sandboxes", err)
	}
	return resp.GetItems(), nil
}
