package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PullImage implements ImageService. Only the caller's context bounds a pull:
// large images take as long as they take.
func (c *Client) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := c.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: image, Auth: auth, SandboxConfig: sandboxConfig})
	if err != nil {
		return "", wrap("pull image "+image.GetImage(), err)
	}
	return resp.GetImageRef(), nil
}

// ImageStatus implements ImageService.
func (c *Client) ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec) (*runtimeapi.Image, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: image})
	if err != nil {
		return nil, wrap("image status "+image.GetImage(), err)
	}
	return resp.GetImage(), nil
}

// ListImages implements ImageService.
func (c *Client) ListImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.images.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: filter})
	if err != nil {
		return nil, wrap("list images", err)
	}
	return resp.GetImages(), nil
}

// RemoveImage implements ImageService.
func (c *Client) RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	if _, err := c.images.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: image}); err != nil {
		return wrap("remove image "+image.GetImage(), err)
	}
	return nil
}

// ImageFsInfo implements ImageService.
func (c *Client) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return nil, wrap("image filesystem info", err)
	}
	return resp, nil
}
