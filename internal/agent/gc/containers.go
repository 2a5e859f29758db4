package gc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// groupKey names a group: the containers of one pod and container name.
type groupKey struct{ podUID, name string }

// deadContainers decides, on a snapshot of the runtime's containers, which
// exited containers to remove: in each group (newest first) the newest is
// kept and so are maxPerContainer exited ones besides it; then, while more
// than maxTotal exited containers remain (maxTotal > 0), the oldest
// removable ones go. Only exited containers created at least minAge
// before now are removed; containers without a pod UID label are not the
// agent's and are left alone.
func deadContainers(list []*runtimeapi.Container, maxPerContainer, maxTotal int, minAge time.Duration, now time.Time) []*runtimeapi.Container {
	groups := map[groupKey][]*runtimeapi.Container{}
	for _, ct := range list {
		l := ct.GetLabels()
		if l[cri.LabelPodUID] == "" {
			continue
		}
		k := groupKey{l[cri.LabelPodUID], l[cri.LabelContainerName]}
		groups[k] = append(groups[k], ct)
	}
	var remove, spare []*runtimeapi.Container // spare: removable, kept by the per-container limit
	exited := 0
	for _, g := range groups {
		sort.Slice(g, func(i, j int) bool { return newer(g[i], g[j]) })
		kept := 0
		for i, ct := range g {
			if ct.GetState() != runtimeapi.ContainerState_CONTAINER_EXITED {
				continue
			}
			exited++
			removable := i > 0 && now.Sub(time.Unix(0, ct.GetCreatedAt())) >= minAge
			switch {
			case !removable:
			case kept < maxPerContainer:
				kept++
				spare = append(spare, ct)
			default:
				remove = append(remove, ct)
			}
		}
	}
	if maxTotal <= 0 || exited-len(remove) <= maxTotal {
		return remove
	}
	sort.Slice(spare, func(i, j int) bool { return spare[i].GetCreatedAt() < spare[j].GetCreatedAt() })
	over := exited - len(remove) - maxTotal
	return append(remove, spare[:min(over, len(spare))]...)
}

// newer orders a group newest first: the higher restart count, then the
// later creation, as the pod workers do.
func newer(a, b *runtimeapi.Container) bool {
	ra, _ := strconv.Atoi(a.GetAnnotations()[cri.AnnotationRestartCount])
	rb, _ := strconv.Atoi(b.GetAnnotations()[cri.AnnotationRestartCount])
	if ra != rb {
		return ra > rb
	}
	return a.GetCreatedAt() > b.GetCreatedAt()
}

// collectContainers removes the dead containers the policy no longer
// keeps, with their log files, then log files of removed containers.
func (c *Collector) collectContainers(ctx context.Context) error {
	var logs []string
	if c.o.PodLogDir != "" {
		// Listed before the containers: a file found here whose container
		// exists is in the container list.
		logs, _ = filepath.Glob(filepath.Join(c.o.PodLogDir, "*", "*", "*.log"))
	}
	list, err := c.o.Runtime.ListContainers(ctx, nil)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	removed := map[string]bool{}
	for _, ct := range deadContainers(list, c.o.MaxDeadPerContainer, c.o.MaxDeadContainers, c.o.MinContainerAge, c.o.Now()) {
		if err := c.removeContainer(ctx, ct); err != nil {
			errs = append(errs, err)
			continue
		}
		removed[ct.GetId()] = true
	}
	if len(logs) > 0 {
		errs = append(errs, c.removeStaleLogs(ctx, logs, list, removed))
	}
	return errors.Join(errs...)
}

// removeContainer removes one container and its log file (the runtime
// keeps the file, which the agent named).
func (c *Collector) removeContainer(ctx context.Context, ct *runtimeapi.Container) error {
	st, err := c.o.Runtime.ContainerStatus(ctx, ct.GetId())
	if errors.Is(err, cri.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	l := ct.GetLabels()
	c.log.Info("removing dead container", "pod", l[cri.LabelPodNamespace]+"/"+l[cri.LabelPodName],
		"container", l[cri.LabelContainerName], "id", ct.GetId(), "restartCount", ct.GetAnnotations()[cri.AnnotationRestartCount])
	if err := c.o.Runtime.RemoveContainer(ctx, ct.GetId()); err != nil {
		return err
	}
	return removeLog(st.GetLogPath())
}

// removeStaleLogs removes the log files (listed before list was taken) of
// pods that still have containers when no container of list, other than
// the removed ones, writes to them: what was left by containers removed
// elsewhere.
func (c *Collector) removeStaleLogs(ctx context.Context, logs []string, list []*runtimeapi.Container, removed map[string]bool) error {
	live := map[string]bool{}    // log paths of existing containers
	podDirs := map[string]bool{} // log directories of pods with containers
	for _, ct := range list {
		if removed[ct.GetId()] || ct.GetLabels()[cri.LabelPodUID] == "" {
			continue
		}
		st, err := c.o.Runtime.ContainerStatus(ctx, ct.GetId())
		if errors.Is(err, cri.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("find stale logs: %w", err)
		}
		if p := st.GetLogPath(); p != "" {
			live[filepath.Clean(p)] = true
			podDirs[filepath.Dir(filepath.Dir(filepath.Clean(p)))] = true
		}
	}
	var errs []error
	for _, p := range logs {
		if live[p] || !podDirs[filepath.Dir(filepath.Dir(p))] {
			continue
		}
		c.log.Info("removing the log of a removed container", "path", p)
		errs = append(errs, removeLog(p))
	}
	return errors.Join(errs...)
}

// removeLog removes a container's log file; an absent one is fine.
func removeLog(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove container log: %w", err)
	}
	return nil
}
