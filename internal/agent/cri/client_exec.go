package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// execGrace is how much longer than an exec's own timeout the call may take
// before the client gives up on the runtime.
const execGrace = 30 * time.Second

// ExecSync implements RuntimeService.
func (c *Client) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error) {
	seconds := int64((timeout + time.Second - 1) / time.Second)
	callTimeout := DefaultTimeout
	if seconds > 0 {
		callTimeout = time.Duration(seconds)*time.Second + execGrace
	}
	ctx, cancel := callContext(ctx, callTimeout)
	defer cancel()
	resp, err := c.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: containerID, Cmd: cmd, Timeout: seconds})
	if err != nil {
		return ExecResult{}, wrap("exec in container "+containerID, err)
	}
	return ExecResult{Stdout: resp.GetStdout(), Stderr: resp.GetStderr(), ExitCode: resp.GetExitCode()}, nil
}

// Exec implements RuntimeService.
func (c *Client) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.Exec(ctx, req)
	if err != nil {
		return nil, wrap("exec in container "+req.GetContainerId(), err)
	}
	return resp, nil
}

// Attach implements RuntimeService.
func (c *Client) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.Attach(ctx, req)
	if err != nil {
		return nil, wrap("attach to container "+req.GetContainerId(), err)
	}
	return resp, nil
}

// PortForward implements RuntimeService.
func (c *Client) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.PortForward(ctx, req)
	if err != nil {
		return nil, wrap("port-forward to sandbox "+req.GetPodSandboxId(), err)
	}
	return resp, nil
}
