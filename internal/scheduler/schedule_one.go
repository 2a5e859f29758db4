package scheduler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/queue"
)

// minFeasibleNodesToFind is the fewest feasible nodes a cycle looks for
// before it stops filtering (all of them in small clusters).
const minFeasibleNodesToFind = 100

// scheduleOne runs one scheduling cycle; it reports false once the queue
// is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qi, err := s.queue.Pop(ctx)
	if err != nil {
		return false
	}
	pod := qi.Pod
	fwk := s.profiles[pod.Spec.SchedulerName]
	if fwk == nil || pod.DeletionTimestamp != nil || s.cache.IsAssumedPod(pod) {
		s.queue.Done(pod.UID)
		return true
	}
	state := framework.NewCycleState()
	s.cache.UpdateSnapshot(s.snapshot)
	host, err := s.schedulePod(ctx, fwk, state, pod)
	if err != nil {
		s.scheduleFailed(ctx, fwk, state, qi, err)
		return true
	}
	// Assume: the cache counts the pod on host from now on, so the next
	// cycle sees it even before the binding lands.
	assumed := *pod
	assumed.Spec.NodeName = host
	ai := *qi.PodInfo
	ai.Pod = &assumed
	if err := s.cache.AssumePod(&ai); err != nil {
		s.handleFailure(ctx, fwk, qi, err, nil)
		return true
	}
	s.queue.DeleteNomination(pod)
	if st := fwk.RunReservePluginsReserve(ctx, state, &assumed, host); !st.IsSuccess() {
		s.undoAssume(ctx, fwk, state, &assumed, host)
		s.handleFailure(ctx, fwk, qi, st.AsError(), nil)
		return true
	}
	if st := fwk.RunPermitPlugins(ctx, state, &assumed, host); !st.IsSuccess() && !st.IsWait() {
		s.undoAssume(ctx, fwk, state, &assumed, host)
		s.handleFailure(ctx, fwk, qi, st.AsError(), nil)
		return true
	}
	s.async.Add(1)
	s.workers.Go(func() { s.bindingCycle(ctx, fwk, state, qi, &assumed, host) })
	return true
}

// bindingCycle waits for Permit and binds; on failure it undoes the
// assumption and requeues the pod.
func (s *Scheduler) bindingCycle(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, qi *queue.QueuedPodInfo, assumed *corev1.Pod, host string) {
	defer s.async.Done()
	defer s.queue.Done(assumed.UID)
	st := fwk.WaitOnPermit(ctx, assumed)
	if st.IsSuccess() {
		st = fwk.RunBindPlugins(ctx, state, assumed, host)
	}
	if !st.IsSuccess() {
		s.undoAssume(ctx, fwk, state, assumed, host)
		if ctx.Err() == nil {
			s.handleFailure(ctx, fwk, qi, st.AsError(), nil)
		}
		return
	}
	s.recorders[fwk.SchedulerName()].Eventf(assumed, corev1.EventTypeNormal, "Scheduled",
		"Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, host)
}

// undoAssume runs Unreserve, forgets the pod and lets pods waiting for
// room try again.
func (s *Scheduler) undoAssume(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, assumed *corev1.Pod, host string) {
	fwk.RunReservePluginsUnreserve(ctx, state, assumed, host)
	s.cache.ForgetPod(assumed)
	s.queue.MoveOnEvent(evAssignedPodDelete, nil)
}

// schedulePod picks a node for pod: filter, then score the feasible nodes.
func (s *Scheduler) schedulePod(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, pod *corev1.Pod) (string, error) {
	if s.snapshot.NumNodes() == 0 {
		return "", framework.ErrNoNodesAvailable
	}
	feasible, diag, err := s.findNodesThatFit(ctx, fwk, state, pod)
	if err != nil {
		return "", err
	}
	if len(feasible) == 0 {
		return "", &framework.FitError{Pod: pod, NumAllNodes: s.snapshot.NumNodes(), Diagnosis: diag}
	}
	if len(feasible) == 1 {
		return feasible[0].Name(), nil
	}
	if !fwk.HasScorePlugins() {
		return feasible[s.rng.IntN(len(feasible))].Name(), nil
	}
	if st := fwk.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		return "", st.AsError()
	}
	scores, st := fwk.RunScorePlugins(ctx, state, pod, feasible, s.scoreBuf)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	s.scoreBuf = scores
	return s.selectHost(feasible, scores), nil
}

// selectHost returns the highest-scoring node, breaking ties uniformly at
// random (reservoir sampling).
func (s *Scheduler) selectHost(nodes []*framework.NodeInfo, scores []int64) string {
	best, ties := 0, 1
	for i := 1; i < len(nodes); i++ {
		switch {
		case scores[i] > scores[best]:
			best, ties = i, 1
		case scores[i] == scores[best]:
			ties++
			if s.rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return nodes[best].Name()
}

// findNodesThatFit runs PreFilter and the filters; it tries the pod's
// nominated node first.
func (s *Scheduler) findNodesThatFit(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, pod *corev1.Pod) ([]*framework.NodeInfo, framework.Diagnosis, error) {
	diag := framework.Diagnosis{NodeToStatus: framework.NodeToStatus{}, UnschedulablePlugins: sets.New[string]()}
	all := s.snapshot.List()
	result, st := fwk.RunPreFilterPlugins(ctx, state, pod)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, diag, st.AsError()
		}
		for _, ni := range all {
			diag.NodeToStatus[ni.Name()] = st
		}
		diag.PreFilterMsg = st.Message()
		diag.UnschedulablePlugins.Insert(st.Plugin())
		return nil, diag, nil
	}
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni, err := s.snapshot.Get(nn); err == nil {
			if fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
				return []*framework.NodeInfo{ni}, diag, nil
			}
		}
	}
	nodes := all
	if result != nil && result.NodeNames != nil {
		nodes = make([]*framework.NodeInfo, 0, len(result.NodeNames))
		for _, ni := range all {
			if _, ok := result.NodeNames[ni.Name()]; ok {
				nodes = append(nodes, ni)
			} else {
				diag.NodeToStatus[ni.Name()] = framework.NewStatus(framework.UnschedulableAndUnresolvable,
					"node(s) didn't satisfy plugin(s) "+st.Plugin())
			}
		}
	}
	feasible, err := s.filterNodes(ctx, fwk, state, pod, nodes, &diag)
	return feasible, diag, err
}

// filterChunk is how many nodes a filtering goroutine takes at a time:
// few, so that goroutines still busy when enough nodes were found waste
// little work past the cut-off; enough that handing them out is cheap.
const filterChunk = 8

// filterNodes runs the filters over nodes in parallel, starting where the
// last cycle stopped, until enough feasible nodes are found. The result is
// the one a sequential pass gives: the first feasible nodes in order, and
// the next cycle starts after the last of them.
func (s *Scheduler) filterNodes(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, diag *framework.Diagnosis) ([]*framework.NodeInfo, error) {
	n := len(nodes)
	if n == 0 {
		return nil, nil
	}
	want := numFeasibleNodesToFind(fwk.PercentageOfNodesToScore(), n)
	if cap(s.statusBuf) < n {
		s.statusBuf = make([]*framework.Status, n)
	}
	// statuses[i] is the rejection of nodes[(start+i)%n], nil if it fits
	// (or was not examined: only past the cut-off, see Chunks).
	statuses := s.statusBuf[:n]
	defer clear(statuses)
	var found atomic.Int64
	var errOnce sync.Once
	var firstErr error
	start := s.nextStartNodeIndex
	s.parallelism.Chunks(ctx, n, filterChunk, func(lo, hi int) bool {
		fits := 0
		// A range that alone has want feasible nodes holds the cut-off.
		for i := lo; i < hi && fits < want; i++ {
			st := fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, nodes[(start+i)%n])
			switch {
			case st.IsSuccess():
				fits++
			case st.IsRejected():
				statuses[i] = st
			default:
				errOnce.Do(func() { firstErr = st.AsError() })
				return false
			}
		}
		return found.Add(int64(fits)) < int64(want)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.collectFeasible(nodes, statuses, start, want, diag), nil
}

// collectFeasible walks the filter results in order: the first want
// feasible nodes are the result and the next cycle starts after the last
// of them. Only when no node fits do the rejections go to diag: it is
// read for the FitError and preemption alone, and filing hundreds of
// rejections by node name costs more than the filtering of a spread pod.
func (s *Scheduler) collectFeasible(nodes []*framework.NodeInfo, statuses []*framework.Status, start, want int, diag *framework.Diagnosis) []*framework.NodeInfo {
	n := len(nodes)
	if cap(s.feasibleBuf) < want {
		s.feasibleBuf = make([]*framework.NodeInfo, want)
	}
	feasible := s.feasibleBuf[:0]
	i := 0
	for ; i < n && len(feasible) < want; i++ {
		if statuses[i] == nil {
			feasible = append(feasible, nodes[(start+i)%n])
		}
	}
	s.nextStartNodeIndex = (start + i) % n
	if len(feasible) > 0 {
		return feasible
	}
	for i, st := range statuses {
		if st != nil {
			diag.NodeToStatus[nodes[(start+i)%n].Name()] = st
			diag.UnschedulablePlugins.Insert(st.Plugin())
		}
	}
	return nil
}

// numFeasibleNodesToFind is how many feasible nodes are enough: all of a
// small cluster, else a percentage (adaptive by default: 50% minus 1% per
// 125 nodes, at least 5%), and never fewer than 100.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < minFeasibleNodesToFind {
		return numAll
	}
	pct := int(percentage)
	if pct <= 0 {
		pct = max(50-numAll/125, 5)
	}
	if pct >= 100 {
		return numAll
	}
	return max(numAll*pct/100, minFeasibleNodesToFind)
}

// scheduleFailed runs PostFilter (preemption) for a pod no node fits and
// hands the failure on.
func (s *Scheduler) scheduleFailed(ctx context.Context, fwk *framework.Framework, state *framework.CycleState, qi *queue.QueuedPodInfo, err error) {
	var nominated *string
	var fitErr *framework.FitError
	if errors.As(err, &fitErr) && fwk.HasPostFilterPlugins() {
		result, st := fwk.RunPostFilterPlugins(ctx, state, qi.Pod, fitErr.Diagnosis.NodeToStatus)
		if st.Code() == framework.Error {
			s.log.Warn("scheduler: preemption failed", "pod", qi.Pod.Namespace+"/"+qi.Pod.Name, "err", st.AsError())
		}
		fitErr.Diagnosis.PostFilterMsg = st.Message()
		if result != nil {
			switch {
			case result.NominatedNodeName != "":
				nominated = &result.NominatedNodeName
			case result.Clear && qi.Pod.Status.NominatedNodeName != "":
				clear := ""
				nominated = &clear
			}
		}
	}
	s.handleFailure(ctx, fwk, qi, err, nominated)
}
