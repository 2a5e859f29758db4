package controller

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/record"
)

// Runnable is a started controller; Run blocks until ctx ends.
type Runnable interface {
	Run(ctx context.Context) error
}

// Context is what controllers are built from. The manager makes one per
// leadership term; informers registered through it are started after every
// controller is constructed.
type Context struct {
	// Client talks to the API server (protobuf for built-in types).
	Client kubernetes.Interface
	// Metadata reads and writes any served resource by its metadata only.
	Metadata metadata.Interface
	// Discovery lists the served resources.
	Discovery discovery.DiscoveryInterface
	// Informers is the shared informer factory of built-in types.
	Informers informers.SharedInformerFactory
	// MetadataInformers is the shared factory of metadata-only informers.
	MetadataInformers metadatainformer.SharedInformerFactory
	// Events records core/v1 Events.
	Events record.EventBroadcaster
	// Workers is the number of concurrent reconciles per controller.
	Workers int
	// Log is the base logger.
	Log *slog.Logger
}

// Recorder returns an event recorder reporting as component (the upstream
// controller names, e.g. "deployment-controller").
func (c *Context) Recorder(component string) record.EventRecorder {
	return c.Events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}

// Logger returns the base logger tagged with a controller name.
func (c *Context) Logger(name string) *slog.Logger {
	l := c.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("controller", name)
}
