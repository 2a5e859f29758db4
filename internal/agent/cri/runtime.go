package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is what the node agent needs from a container runtime: CRI v1's
// runtime and image services. *Client implements it over gRPC; any CRI v1
// runtime (containerd, CRI-O) answers it.
type Runtime interface {
	RuntimeService
	ImageService
}

// RuntimeService runs pod sandboxes and containers.
type RuntimeService interface {
	// Version reports the runtime's name and version.
	Version(ctx context.Context) (*runtimeapi.VersionResponse, error)
	// Status reports the RuntimeReady and NetworkReady conditions.
	Status(ctx context.Context) (*runtimeapi.RuntimeStatus, error)
	// UpdateRuntimeConfig tells the runtime the node's pod CIDR.
	UpdateRuntimeConfig(ctx context.Context, podCIDR string) error

	// RunPodSandbox creates and starts a pod sandbox with the given runtime
	// handler ("" for the default) and returns its ID.
	RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error)
	// StopPodSandbox stops every container of the sandbox and tears down its
	// network. Stopping a stopped sandbox succeeds.
	StopPodSandbox(ctx context.Context, podSandboxID string) error
	// RemovePodSandbox removes a sandbox and its containers. Removing an
	// absent sandbox succeeds.
	RemovePodSandbox(ctx context.Context, podSandboxID string) error
	// PodSandboxStatus returns a sandbox's status; ErrNotFound if absent.
	PodSandboxStatus(ctx context.Context, podSandboxID string) (*runtimeapi.PodSandboxStatus, error)
	// ListPodSandbox lists sandboxes matching filter (nil for all).
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)

	// CreateContainer creates a container in a sandbox and returns its ID.
	CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, containerID string) error
	// StopContainer sends the stop signal, waits up to gracePeriod, then
	// kills the container.
	StopContainer(ctx context.Context, containerID string, gracePeriod time.Duration) error
	// RemoveContainer removes a container; removing an absent one succeeds.
	RemoveContainer(ctx context.Context, containerID string) error
	// ListContainers lists containers matching filter (nil for all).
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	// ContainerStatus returns a container's status; ErrNotFound if absent.
	ContainerStatus(ctx context.Context, containerID string) (*runtimeapi.ContainerStatus, error)
	// UpdateContainerResources changes a running container's resources.
	UpdateContainerResources(ctx context.Context, containerID string, resources *runtimeapi.ContainerResources) error
	// ReopenContainerLog makes the runtime reopen a container's log file
	// (after the agent rotated it).
	ReopenContainerLog(ctx context.Context, containerID string) error

	// ExecSync runs cmd in a container and waits for it, at most timeout
	// (zero: no limit). A non-zero exit code is not an error.
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error)
	// Exec, Attach and PortForward return the URL of the runtime's
	// streaming server for one session.
	Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)

	// ContainerStats returns one container's resource usage.
	ContainerStats(ctx context.Context, containerID string) (*runtimeapi.ContainerStats, error)
	// ListContainerStats returns the resource usage of matching containers.
	ListContainerStats(ctx context.Context, filter *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error)
}

// ImageService pulls, inspects and removes images.
type ImageService interface {
	// PullImage pulls an image with optional credentials and returns the
	// image reference (usually its ID) the runtime stored.
	PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	// ImageStatus returns an image, or nil and no error if it is absent.
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec) (*runtimeapi.Image, error)
	// ListImages lists images matching filter (nil for all).
	ListImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error)
	// RemoveImage removes an image; removing an absent one succeeds.
	RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error
	// ImageFsInfo reports the usage of the filesystems images live on.
	ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error)
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
}
