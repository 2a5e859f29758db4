package cri

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Timeouts the client applies when the caller's context has no deadline.
const (
	// DefaultTimeout bounds every call but image pulls, like the kubelet's
	// --runtime-request-timeout.
	DefaultTimeout = 2 * time.Minute
	// maxMessageSize matches the kubelet's CRI message size limit; lists of
	// thousands of containers exceed gRPC's 4 MiB default.
	maxMessageSize = 16 << 20
)

// ErrNotFound matches (errors.Is) errors about an absent sandbox, container
// or image.
var ErrNotFound = errors.New("cri: not found")

// ErrUnsupportedEndpoint is returned by Dial for an endpoint that is not a
// unix socket.
var ErrUnsupportedEndpoint = errors.New("cri: unsupported endpoint")

// Client is a CRI v1 client over gRPC. It reconnects by itself when the
// runtime restarts: calls made while it is away wait for it, up to their
// deadline. Safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
	images  runtimeapi.ImageServiceClient
}

var _ Runtime = (*Client)(nil)

// Dial connects to the CRI runtime at endpoint ("unix:///path" or "/path")
// and checks that it answers Version before ctx ends.
func Dial(ctx context.Context, endpoint string) (*Client, error) {
	c, err := newClient(endpoint)
	if err != nil {
		return nil, err
	}
	if _, err := c.Version(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial CRI runtime %s: %w", endpoint, err)
	}
	return c, nil
}

// newClient returns a Client for endpoint without contacting it.
func newClient(endpoint string) (*Client, error) {
	target, err := grpcTarget(endpoint)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize), grpc.WaitForReady(true)),
		// A local socket comes back within a second of a runtime restart;
		// gRPC's default backoff would wait up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial CRI runtime %s: %w", endpoint, err)
	}
	return &Client{
		conn:    conn,
		runtime: runtimeapi.NewRuntimeServiceClient(conn),
		images:  runtimeapi.NewImageServiceClient(conn),
	}, nil
}

// grpcTarget turns a CRI endpoint into a gRPC target.
func grpcTarget(endpoint string) (string, error) {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		if !strings.HasPrefix(strings.TrimPrefix(endpoint, "unix://"), "/") {
			return "", fmt.Errorf("%w %q: the socket path must be absolute", ErrUnsupportedEndpoint, endpoint)
		}
		return endpoint, nil
	case strings.HasPrefix(endpoint, "/"):
		return "unix://" + endpoint, nil
	default:
		return "", fmt.Errorf("%w %q: only unix sockets (unix:///path) are supported", ErrUnsupportedEndpoint, endpoint)
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// callContext bounds ctx by d unless it already has a deadline.
func callContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// wrap adds the operation to a gRPC error and makes NotFound match
// ErrNotFound. The gRPC status stays reachable through status.FromError.
func wrap(op string, err error) error {
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("cri: %s: %w: %w", op, ErrNotFound, err)
	}
	return fmt.Errorf("cri: %s: %w", op, err)
}

// Version implements RuntimeService.
func (c *Client) Version(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{Version: "v1"})
	if err != nil {
		return nil, wrap("version", err)
	}
	return resp, nil
}

// probe asks for the version once, failing at once if the runtime is not
// connected, for readiness polling.
func (c *Client) probe(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	resp, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{Version: "v1"}, grpc.WaitForReady(false))
	if err != nil {
		return nil, wrap("version", err)
	}
	return resp, nil
}

// Status implements RuntimeService.
func (c *Client) Status(ctx context.Context) (*runtimeapi.RuntimeStatus, error) {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	resp, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return nil, wrap("status", err)
	}
	return resp.GetStatus(), nil
}

// UpdateRuntimeConfig implements RuntimeService.
func (c *Client) UpdateRuntimeConfig(ctx context.Context, podCIDR string) error {
	ctx, cancel := callContext(ctx, DefaultTimeout)
	defer cancel()
	_, err := c.runtime.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: podCIDR}},
	})
	if err != nil {
		return wrap("update runtime config", err)
	}
	return nil
}
