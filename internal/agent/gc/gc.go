package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/internal/agent/cri"
	"github.com/skiffhq/skiff/internal/agent/images"
)

// The kubelet's defaults, and how often each collection runs.
const (
	DefaultHighThresholdPercent = 85
	DefaultLowThresholdPercent  = 80
	DefaultMinImageAge          = 2 * time.Minute
	DefaultMaxDeadPerContainer  = 1

	ContainerPeriod = time.Minute
	ImagePeriod     = 5 * time.Minute
)

// Event reasons on the Node, as the kubelet names them.
const (
	ReasonFreeDiskSpaceFailed = "FreeDiskSpaceFailed"
	ReasonImageGCFailed       = "ImageGCFailed"
	ReasonContainerGCFailed   = "ContainerGCFailed"
)

// ErrInvalidOptions is returned by Start and CollectNow for options out of
// range.
var ErrInvalidOptions = errors.New("gc: invalid options")

// Usage is the state of the filesystem images live on, in bytes.
type Usage struct {
	Capacity, Available int64
}

// Options configure a Collector. Zero values mean the kubelet's defaults.
type Options struct {
	// Runtime is the CRI runtime whose containers and images are collected.
	Runtime cri.Runtime
	// NodeName names the Node events are recorded on; Recorder records
	// them (nil: no events).
	NodeName string
	Recorder record.EventRecorder
	// PodLogDir holds the pods' log directories (<namespace>_<name>_<uid>);
	// log files there that no container points at are removed. Empty: only
	// the logs of containers this package removes are.
	PodLogDir string
	// Log receives what the collector does (nil: discarded).
	Log *slog.Logger

	// HighThresholdPercent and LowThresholdPercent are
	// --image-gc-high-threshold and --image-gc-low-threshold: image
	// collection starts when the image filesystem is at least High % full
	// and frees down to Low %. Both zero means 85 and 80; otherwise
	// 0 ≤ Low < High ≤ 100 (100 turns image collection off).
	HighThresholdPercent, LowThresholdPercent int
	// MinImageAge is --minimum-image-ttl-duration: an image first seen
	// less than this long ago is kept. Zero means two minutes, negative
	// none.
	MinImageAge time.Duration
	// KeepImages are never removed; nil means skiff's own images, the
	// pause (sandbox) image and busybox, which the agent imports at start
	// and no registry serves.
	KeepImages []string
	// ImageFsUsage reports the image filesystem's usage; nil means the
	// filesystem holding the runtime's image store (CRI ImageFsInfo's
	// mount point, measured with statfs).
	ImageFsUsage func(ctx context.Context) (Usage, error)

	// MaxDeadPerContainer is --maximum-dead-containers-per-container: the
	// exited containers kept per (pod, container name) besides the newest
	// container, which is always kept. Zero means 1. The pod workers keep
	// at most one besides the newest whatever this says.
	MaxDeadPerContainer int
	// MaxDeadContainers is --maximum-dead-containers, a node-wide cap on
	// exited containers (the newest of each group is kept even beyond it).
	// Zero or negative: no cap.
	MaxDeadContainers int
	// MinContainerAge is --minimum-container-ttl-duration: younger exited
	// containers are kept.
	MinContainerAge time.Duration

	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Collector removes dead containers and unused images; see the package
// documentation for the policy.
type Collector struct {
	o   Options
	log *slog.Logger

	// mu serializes collections and guards the fields below.
	mu sync.Mutex
	// imageRecords are the images seen, by image ID.
	imageRecords map[string]*imageRecord
	// detected is set after the first image detection: images found then
	// count as first seen long ago, as the kubelet does.
	detected bool
	// imageFailures counts image collections failed in a row.
	imageFailures int
}

// New returns a collector; Start or CollectNow check the options.
func New(o Options) *Collector {
	if o.HighThresholdPercent == 0 && o.LowThresholdPercent == 0 {
		o.HighThresholdPercent, o.LowThresholdPercent = DefaultHighThresholdPercent, DefaultLowThresholdPercent
	}
	if o.MinImageAge == 0 {
		o.MinImageAge = DefaultMinImageAge
	}
	if o.MaxDeadPerContainer == 0 {
		o.MaxDeadPerContainer = DefaultMaxDeadPerContainer
	}
	if o.KeepImages == nil {
		o.KeepImages = []string{images.PauseImageRef, images.BusyboxImageRef}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Recorder == nil {
		o.Recorder = &record.FakeRecorder{}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{o: o, log: log, imageRecords: map[string]*imageRecord{}}
	if c.o.ImageFsUsage == nil && o.Runtime != nil {
		c.o.ImageFsUsage = func(ctx context.Context) (Usage, error) { return RuntimeImageFsUsage(ctx, o.Runtime) }
	}
	return c
}

// validate checks the options.
func (c *Collector) validate() error {
	o := &c.o
	switch {
	case o.Runtime == nil:
		return fmt.Errorf("%w: no runtime", ErrInvalidOptions)
	case o.HighThresholdPercent < 0 || o.HighThresholdPercent > 100:
		return fmt.Errorf("%w: image GC high threshold %d%%: want 0-100", ErrInvalidOptions, o.HighThresholdPercent)
	case o.LowThresholdPercent < 0 || o.LowThresholdPercent > 100:
		return fmt.Errorf("%w: image GC low threshold %d%%: want 0-100", ErrInvalidOptions, o.LowThresholdPercent)
	case o.LowThresholdPercent >= o.HighThresholdPercent:
		return fmt.Errorf("%w: image GC low threshold %d%% must be less than the high threshold %d%%",
			ErrInvalidOptions, o.LowThresholdPercent, o.HighThresholdPercent)
	case o.MaxDeadPerContainer < 0:
		return fmt.Errorf("%w: dead containers per container %d: want at least 0", ErrInvalidOptions, o.MaxDeadPerContainer)
	case o.MinContainerAge < 0:
		return fmt.Errorf("%w: minimum container age %s: want at least 0", ErrInvalidOptions, o.MinContainerAge)
	}
	return nil
}

// Start collects containers every minute and images every five minutes,
// each once at once, until ctx ends. Failures are logged and recorded as
// events on the Node; only invalid options make Start return an error.
func (c *Collector) Start(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.every(ctx, ContainerPeriod, c.containersOnce) }()
	go func() { defer wg.Done(); c.every(ctx, ImagePeriod, c.imagesOnce) }()
	wg.Wait()
	return nil
}

// every runs f now and then every period until ctx ends.
func (c *Collector) every(ctx context.Context, period time.Duration, f func(context.Context) error) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		_ = f(ctx) // reported by f
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CollectNow runs one container collection and one image collection and
// returns what went wrong; failures are also recorded as events, as from
// the periodic runs.
func (c *Collector) CollectNow(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return err
	}
	return errors.Join(c.containersOnce(ctx), c.imagesOnce(ctx))
}

// containersOnce is one container collection, reported.
func (c *Collector) containersOnce(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.collectContainers(ctx)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("container garbage collection failed", "err", err)
		c.event(ReasonContainerGCFailed, err.Error())
	}
	return err
}

// imagesOnce is one image collection, reported: a second failure in a
// row is an ImageGCFailed event (the first may be the runtime starting).
func (c *Collector) imagesOnce(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.collectImages(ctx)
	switch {
	case err == nil:
		c.imageFailures = 0
	case ctx.Err() != nil:
	default:
		c.imageFailures++
		c.log.Warn("image garbage collection failed", "err", err, "inARow", c.imageFailures)
		if c.imageFailures > 1 {
			c.event(ReasonImageGCFailed, err.Error())
		}
	}
	return err
}

// event records a warning on the Node.
func (c *Collector) event(reason, message string) {
	ref := &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: c.o.NodeName, UID: types.UID(c.o.NodeName)}
	c.o.Recorder.Event(ref, corev1.EventTypeWarning, reason, message)
}
