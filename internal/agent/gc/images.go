package gc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// imageRecord is what the collector remembers of an image.
type imageRecord struct {
	id string
	// firstDetected is when the image was first seen (zero: at the first
	// detection, so "long ago"); lastUsed when a container last used it
	// (zero: never seen used).
	firstDetected, lastUsed time.Time
	size                    int64
	// keep: pinned or one of Options.KeepImages.
	keep bool
	// inUse: a container of the runtime uses it now.
	inUse bool
}

// detectImages updates the records from the runtime's images and
// containers at now.
func (c *Collector) detectImages(ctx context.Context, now time.Time) error {
	list, err := c.o.Runtime.ListImages(ctx, nil)
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	containers, err := c.o.Runtime.ListContainers(ctx, nil)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	keep := map[string]bool{} // image IDs and names never removed
	for _, ref := range c.o.KeepImages {
		img, err := c.o.Runtime.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref})
		if err != nil {
			return fmt.Errorf("find image %s: %w", ref, err)
		}
		keep[ref] = true
		if img != nil {
			keep[img.GetId()] = true
		}
	}
	used := map[string]bool{} // image IDs, names and digests containers name
	for _, ct := range containers {
		for _, ref := range []string{ct.GetImageRef(), ct.GetImage().GetImage()} {
			if ref != "" {
				used[ref] = true
			}
		}
	}
	firstSeen := now
	if !c.detected {
		firstSeen = time.Time{}
	}
	seen := map[string]bool{}
	for _, img := range list {
		id := img.GetId()
		seen[id] = true
		r := c.imageRecords[id]
		if r == nil {
			r = &imageRecord{id: id, firstDetected: firstSeen}
			c.imageRecords[id] = r
		}
		r.size = int64(img.GetSize_())
		r.keep = img.GetPinned() || named(img, keep)
		r.inUse = named(img, used)
		if r.inUse {
			r.lastUsed = now
		}
	}
	for id := range c.imageRecords {
		if !seen[id] {
			delete(c.imageRecords, id)
		}
	}
	c.detected = true
	return nil
}

// named reports whether img's ID, a tag or a digest is in names.
func named(img *runtimeapi.Image, names map[string]bool) bool {
	in := func(s string) bool { return names[s] }
	return in(img.GetId()) || slices.ContainsFunc(img.GetRepoTags(), in) || slices.ContainsFunc(img.GetRepoDigests(), in)
}

// evictionOrder returns the images that may be removed at now, least
// recently used first (then first detected first).
func evictionOrder(records map[string]*imageRecord, minAge time.Duration, now time.Time) []*imageRecord {
	var out []*imageRecord
	for _, r := range records {
		if r.keep || r.inUse || now.Sub(r.firstDetected) < minAge {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].lastUsed.Equal(out[j].lastUsed) {
			return out[i].lastUsed.Before(out[j].lastUsed)
		}
		if !out[i].firstDetected.Equal(out[j].firstDetected) {
			return out[i].firstDetected.Before(out[j].firstDetected)
		}
		return out[i].id < out[j].id
	})
	return out
}

// collectImages detects images and, when the image filesystem is at least
// the high threshold full, frees space down to the low threshold.
func (c *Collector) collectImages(ctx context.Context) error {
	now := c.o.Now()
	if err := c.detectImages(ctx, now); err != nil {
		return err
	}
	u, err := c.o.ImageFsUsage(ctx)
	if err != nil {
		return fmt.Errorf("get image filesystem usage: %w", err)
	}
	if u.Capacity <= 0 || u.Available < 0 || u.Available > u.Capacity {
		return fmt.Errorf("image filesystem usage: capacity %d bytes, available %d bytes: not a valid usage", u.Capacity, u.Available)
	}
	percent := 100 - int(u.Available*100/u.Capacity)
	if percent < c.o.HighThresholdPercent {
		return nil
	}
	toFree := u.Capacity*int64(100-c.o.LowThresholdPercent)/100 - u.Available
	c.log.Info("image filesystem usage is over the high threshold, freeing space down to the low threshold",
		"usage", percent, "highThreshold", c.o.HighThresholdPercent, "lowThreshold", c.o.LowThresholdPercent, "bytesToFree", toFree)
	freed, err := c.freeImages(ctx, toFree, now)
	if err != nil {
		return err
	}
	if freed < toFree {
		msg := fmt.Sprintf("Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found %d bytes eligible to free.", toFree, freed)
		c.event(ReasonFreeDiskSpaceFailed, msg)
		return errors.New(msg)
	}
	return nil
}

// freeImages removes unused images in eviction order until bytes are
// freed or none is left, and returns what it freed.
func (c *Collector) freeImages(ctx context.Context, bytes int64, now time.Time) (int64, error) {
	var freed int64
	var errs []error
	for _, r := range evictionOrder(c.imageRecords, c.o.MinImageAge, now) {
		if freed >= bytes {
			break
		}
		c.log.Info("removing unused image", "image", r.id, "size", r.size, "lastUsed", r.lastUsed)
		if err := c.o.Runtime.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: r.id}); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(c.imageRecords, r.id)
		freed += r.size
	}
	if len(errs) > 0 {
		return freed, fmt.Errorf("wanted to free %d bytes, but freed %d bytes space with errors in image deletion: %w", bytes, freed, errors.Join(errs...))
	}
	return freed, nil
}

// DeleteUnusedImages removes every image no container uses (except
// KeepImages, pinned images and images younger than MinImageAge),
// whatever the disk usage: what eviction does under disk pressure before
// evicting pods.
func (c *Collector) DeleteUnusedImages(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.o.Now()
	if err := c.detectImages(ctx, now); err != nil {
		return err
	}
	_, err := c.freeImages(ctx, math.MaxInt64, now)
	return err
}

// RuntimeImageFsUsage measures the filesystem of a runtime's image store
// (the mount point CRI ImageFsInfo reports) with statfs.
func RuntimeImageFsUsage(ctx context.Context, rt cri.ImageService) (Usage, error) {
	info, err := rt.ImageFsInfo(ctx)
	if err != nil {
		return Usage{}, err
	}
	fss := info.GetImageFilesystems()
	if len(fss) == 0 || fss[0].GetFsId().GetMountpoint() == "" {
		return Usage{}, errors.New("the runtime reports no image filesystem")
	}
	var st syscall.Statfs_t
	mp := fss[0].GetFsId().GetMountpoint()
	if err := syscall.Statfs(mp, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", mp, err)
	}
	return Usage{Capacity: int64(st.Blocks) * st.Bsize, Available: int64(st.Bavail) * st.Bsize}, nil
}
