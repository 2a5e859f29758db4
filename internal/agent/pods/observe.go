package pods

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// record is one CRI container of a pod.
type record struct {
	id        string
	sandboxID string
	name      string
	// restartCount is the container's restart-count annotation.
	restartCount int
	hash         string
	status       *runtimeapi.ContainerStatus
}

func (r *record) running() bool {
	return r.status.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
}

func (r *record) exited() bool {
	return r.status.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED
}

func (r *record) finishedAt() time.Time { return time.Unix(0, r.status.GetFinishedAt()) }

// podState is what the runtime knows about one pod.
type podState struct {
	// sandboxes, newest first.
	sandboxes []*runtimeapi.PodSandbox
	// sandbox is the newest sandbox when it is ready, else nil;
	// sandboxStatus its status.
	sandbox       *runtimeapi.PodSandbox
	sandboxStatus *runtimeapi.PodSandboxStatus
	// records by container name, newest first.
	records map[string][]*record
}

// current returns a container name's newest record, or nil.
func (s *podState) current(name string) *record {
	if rs := s.records[name]; len(rs) > 0 {
		return rs[0]
	}
	return nil
}

// currentInSandbox returns name's newest record when it belongs to the ready
// sandbox.
func (s *podState) currentInSandbox(name string) *record {
	r := s.current(name)
	if r == nil || s.sandbox == nil || r.sandboxID != s.sandbox.GetId() {
		return nil
	}
	return r
}

// nextRestartCount is the restart count of name's next container: zero for
// the first, one more than the newest otherwise.
func (s *podState) nextRestartCount(name string) int {
	if r := s.current(name); r != nil {
		return r.restartCount + 1
	}
	return 0
}

// podIPs are the addresses of the ready sandbox.
func (s *podState) podIPs() []string {
	n := s.sandboxStatus.GetNetwork()
	if n == nil || n.GetIp() == "" {
		return nil
	}
	ips := []string{n.GetIp()}
	for _, a := range n.GetAdditionalIps() {
		ips = append(ips, a.GetIp())
	}
	return ips
}

// observe lists the sandboxes and containers of pod uid.
func observe(ctx context.Context, rt cri.RuntimeService, uid types.UID) (*podState, error) {
	sel := map[string]string{cri.LabelPodUID: string(uid)}
	sandboxes, err := rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes of pod %s: %w", uid, err)
	}
	sort.Slice(sandboxes, func(i, j int) bool { return sandboxes[i].GetCreatedAt() > sandboxes[j].GetCreatedAt() })
	s := &podState{sandboxes: sandboxes, records: map[string][]*record{}}
	if len(sandboxes) > 0 && sandboxes[0].GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
		s.sandbox = sandboxes[0]
		if s.sandboxStatus, err = rt.PodSandboxStatus(ctx, s.sandbox.GetId()); err != nil {
			return nil, fmt.Errorf("status of sandbox of pod %s: %w", uid, err)
		}
	}
	containers, err := rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", uid, err)
	}
	for _, c := range containers {
		st, err := rt.ContainerStatus(ctx, c.GetId())
		if err != nil {
			continue // removed meanwhile
		}
		r := &record{
			id:        c.GetId(),
			sandboxID: c.GetPodSandboxId(),
			name:      c.GetLabels()[cri.LabelContainerName],
			hash:      c.GetAnnotations()[cri.AnnotationContainerHash],
			status:    st,
		}
		r.restartCount, _ = strconv.Atoi(c.GetAnnotations()[cri.AnnotationRestartCount])
		s.records[r.name] = append(s.records[r.name], r)
	}
	for _, rs := range s.records {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].restartCount != rs[j].restartCount {
				return rs[i].restartCount > rs[j].restartCount
			}
			return rs[i].status.GetCreatedAt() > rs[j].status.GetCreatedAt()
		})
	}
	return s, nil
}
