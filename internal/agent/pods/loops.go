package pods

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// relistLoop lists the runtime's containers and sandboxes every second and
// wakes the workers of pods whose containers changed state, so a container
// exit is acted on at once rather than at the next resync.
func (m *Manager) relistLoop(ctx context.Context) {
	seen := map[string]string{} // CRI ID → state
	t := time.NewTicker(relistInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := map[string]string{}
		changed := map[types.UID]bool{}
		note := func(id, state string, labels map[string]string) {
			now[id] = state
			if seen[id] != state {
				if uid := labels[cri.LabelPodUID]; uid != "" {
					changed[types.UID(uid)] = true
				}
			}
		}
		containers, err := m.o.Runtime.ListContainers(ctx, nil)
		if err != nil {
			continue
		}
		sandboxes, err := m.o.Runtime.ListPodSandbox(ctx, nil)
		if err != nil {
			continue
		}
		for _, c := range containers {
			note(c.GetId(), c.GetState().String(), c.GetLabels())
		}
		for _, s := range sandboxes {
			note(s.GetId(), s.GetState().String(), s.GetLabels())
		}
		seen = now
		for uid := range changed {
			m.kick(uid)
		}
	}
}

// orphanLoop removes, at start and then periodically, the sandboxes and
// volumes of pods this node no longer runs (deleted while the agent was
// away).
func (m *Manager) orphanLoop(ctx context.Context) {
	t := time.NewTicker(orphanInterval)
	defer t.Stop()
	for {
		m.removeOrphans(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Manager) removeOrphans(ctx context.Context) {
	sandboxes, err := m.o.Runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		m.log.Warn("list sandboxes for orphans", "err", err)
		return
	}
	volumeUIDs, err := m.o.Volumes.PodUIDs()
	if err != nil {
		m.log.Warn("list pod volumes for orphans", "err", err)
	}
	// Listed after the runtime: a pod created meanwhile has no sandbox yet.
	known := m.knownUIDs()
	for _, s := range sandboxes {
		uid := s.GetLabels()[cri.LabelPodUID]
		if uid == "" || known[types.UID(uid)] {
			continue
		}
		m.log.Info("removing sandbox of a pod no longer on this node", "pod", s.GetMetadata().GetNamespace()+"/"+s.GetMetadata().GetName(), "uid", uid)
		if s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			if err := m.o.Runtime.StopPodSandbox(ctx, s.GetId()); err != nil {
				m.log.Warn("stop orphan sandbox", "err", err)
				continue
			}
		}
		if err := m.o.Runtime.RemovePodSandbox(ctx, s.GetId()); err != nil {
			m.log.Warn("remove orphan sandbox", "err", err)
		}
		m.probes.Remove(types.UID(uid))
	}
	for _, uid := range volumeUIDs {
		if known[uid] {
			continue
		}
		if err := m.o.Volumes.TearDown(ctx, uid); err != nil {
			m.log.Warn("tear down orphan volumes", "uid", uid, "err", err)
		}
	}
	m.removeOrphanLogs()
}

// removeOrphanLogs removes the log directories
// (<namespace>_<name>_<uid>) of pods no longer on the node.
func (m *Manager) removeOrphanLogs() {
	entries, err := os.ReadDir(m.o.PodLogDir)
	if err != nil {
		return
	}
	// Listed after the directory: a pod created meanwhile is known.
	known := m.knownUIDs()
	for _, e := range entries {
		i := strings.LastIndex(e.Name(), "_")
		if !e.IsDir() || i < 0 || known[types.UID(e.Name()[i+1:])] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.o.PodLogDir, e.Name())); err != nil {
			m.log.Warn("remove orphan pod logs", "dir", e.Name(), "err", err)
		}
	}
}
