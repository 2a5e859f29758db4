package gc

import (
	"slices"
	"strconv"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

var (
	exited  = runtimeapi.ContainerState_CONTAINER_EXITED
	running = runtimeapi.ContainerState_CONTAINER_RUNNING
	created = runtimeapi.ContainerState_CONTAINER_CREATED
)

// ctr is a container of pod uid named name, restart count restart, created
// at minute created of the test's clock.
func ctr(id, uid, name string, restart int, state runtimeapi.ContainerState, created int) *runtimeapi.Container {
	labels := map[string]string{cri.LabelContainerName: name}
	if uid != "" {
		labels[cri.LabelPodUID] = uid
	}
	return &runtimeapi.Container{
		Id: id, State: state, Labels: labels,
		Annotations: map[string]string{cri.AnnotationRestartCount: strconv.Itoa(restart)},
		CreatedAt:   clockStart.Add(time.Duration(created) * time.Minute).UnixNano(),
	}
}

var clockStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDeadContainers(t *testing.T) {
	tests := []struct {
		name            string
		list            []*runtimeapi.Container
		maxPerContainer int
		maxTotal        int
		minAge          time.Duration
		nowMinute       int
		wantRemoved     []string
	}{
		{
			name: "older exited instances beyond the newest and one more go",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 1),
				ctr("a2", "p", "app", 2, exited, 2), ctr("a3", "p", "app", 3, exited, 3),
			},
			maxPerContainer: 1, nowMinute: 10,
			wantRemoved: []string{"a0", "a1"},
		},
		{
			name: "a running newest keeps one dead instance",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 1), ctr("a2", "p", "app", 2, running, 2),
			},
			maxPerContainer: 1, nowMinute: 10,
			wantRemoved: []string{"a0"},
		},
		{
			name: "restart count orders before creation time",
			list: []*runtimeapi.Container{
				ctr("new", "p", "app", 5, exited, 0), ctr("mid", "p", "app", 4, exited, 1), ctr("old", "p", "app", 3, exited, 2),
			},
			maxPerContainer: 1, nowMinute: 10,
			wantRemoved: []string{"old"},
		},
		{
			name: "groups are per pod and container name",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 1),
				ctr("b0", "p", "db", 0, exited, 0), ctr("c0", "q", "app", 0, exited, 0),
			},
			maxPerContainer: 1, nowMinute: 10,
		},
		{
			name: "running, created and unlabelled containers are never removed",
			list: []*runtimeapi.Container{
				ctr("r0", "p", "app", 0, running, 0), ctr("r1", "p", "app", 1, running, 1), ctr("r2", "p", "app", 2, created, 2),
				ctr("x0", "", "app", 0, exited, 0), ctr("x1", "", "app", 1, exited, 1), ctr("x2", "", "app", 2, exited, 2),
			},
			maxPerContainer: 1, nowMinute: 10,
		},
		{
			name: "more kept dead containers",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 1),
				ctr("a2", "p", "app", 2, exited, 2), ctr("a3", "p", "app", 3, exited, 3),
			},
			maxPerContainer: 2, nowMinute: 10,
			wantRemoved: []string{"a0"},
		},
		{
			name: "young exited containers stay",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 5),
				ctr("a2", "p", "app", 2, exited, 8), ctr("a3", "p", "app", 3, exited, 9),
			},
			maxPerContainer: 1, minAge: 3 * time.Minute, nowMinute: 10,
			wantRemoved: []string{"a0"},
		},
		{
			name: "node-wide cap removes the oldest but never a newest",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 3),
				ctr("b0", "p", "db", 0, exited, 1), ctr("b1", "p", "db", 1, exited, 4),
				ctr("c0", "q", "app", 0, exited, 2), ctr("c1", "q", "app", 1, running, 5),
			},
			maxPerContainer: 1, maxTotal: 3, nowMinute: 10,
			wantRemoved: []string{"a0", "b0"},
		},
		{
			name: "a cap below the groups keeps every newest",
			list: []*runtimeapi.Container{
				ctr("a0", "p", "app", 0, exited, 0), ctr("a1", "p", "app", 1, exited, 3),
				ctr("b0", "q", "app", 0, exited, 1),
			},
			maxPerContainer: 1, maxTotal: 1, nowMinute: 10,
			wantRemoved: []string{"a0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := clockStart.Add(time.Duration(tc.nowMinute) * time.Minute)
			var got []string
			for _, c := range deadContainers(tc.list, tc.maxPerContainer, tc.maxTotal, tc.minAge, now) {
				got = append(got, c.GetId())
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.wantRemoved) {
				t.Errorf("removed %v, want %v", got, tc.wantRemoved)
			}
		})
	}
}

func TestEvictionOrder(t *testing.T) {
	at := func(m int) time.Time { return clockStart.Add(time.Duration(m) * time.Minute) }
	records := map[string]*imageRecord{
		"never-used":      {id: "never-used", firstDetected: at(0)},
		"used-long-ago":   {id: "used-long-ago", firstDetected: at(0), lastUsed: at(1)},
		"used-lately":     {id: "used-lately", firstDetected: at(0), lastUsed: at(8)},
		"found-at-start":  {id: "found-at-start"},
		"in-use":          {id: "in-use", inUse: true, lastUsed: at(10)},
		"pause-or-pinned": {id: "pause-or-pinned", keep: true},
		"young":           {id: "young", firstDetected: at(9)},
	}
	var got []string
	for _, r := range evictionOrder(records, 2*time.Minute, at(10)) {
		got = append(got, r.id)
	}
	want := []string{"found-at-start", "never-used", "used-long-ago", "used-lately"}
	if !slices.Equal(got, want) {
		t.Errorf("eviction order %v, want %v", got, want)
	}
}
