package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Framework runs one profile's plugins at each extension point. It is safe
// for concurrent use by the scheduling cycle and binding goroutines.
type Framework struct {
	env      Env
	profile  Profile
	parallel Parallelizer

	preFilter   []PreFilterPlugin
	filter      []FilterPlugin
	postFilter  []PostFilterPlugin
	preScore    []PreScorePlugin
	score       []ScorePlugin
	scoreWeight []int64
	reserve     []ReservePlugin
	permit      []PermitPlugin
	bind        []BindPlugin
	// events are the EnqueueExtensions of each plugin.
	events map[string][]ClusterEvent
	// scoreScratch recycles RunScorePlugins' working memory.
	scoreScratch atomic.Pointer[scoreScratch]

	waiting waitingPods
}

var _ Handle = (*Framework)(nil)

// New builds the plugins of profile from registry.
func New(profile Profile, registry Registry, env Env) (*Framework, error) {
	f := &Framework{env: env, profile: profile, parallel: NewParallelizer(env.Parallelism),
		events: map[string][]ClusterEvent{}}
	f.waiting.pods = map[string]*WaitingPod{}
	seen := sets.New[string]()
	for _, spec := range profile.Plugins {
		if seen.Has(spec.Name) {
			return nil, fmt.Errorf("profile %q: plugin %q listed twice", profile.SchedulerName, spec.Name)
		}
		seen.Insert(spec.Name)
		factory, ok := registry[spec.Name]
		if !ok {
			return nil, fmt.Errorf("profile %q: %w", profile.SchedulerName, errUnknownPlugin(spec.Name))
		}
		p, err := factory(spec.Args, f)
		if err != nil {
			return nil, fmt.Errorf("profile %q: plugin %s: %w", profile.SchedulerName, spec.Name, err)
		}
		f.add(p, spec)
	}
	if len(f.bind) == 0 {
		return nil, fmt.Errorf("profile %q: at least one bind plugin is needed", profile.SchedulerName)
	}
	return f, nil
}

// add registers p at every extension point it implements and spec enables.
func (f *Framework) add(p Plugin, spec PluginSpec) {
	on := func(pt ExtensionPoint) bool { return spec.Disabled&pt == 0 }
	if x, ok := p.(PreFilterPlugin); ok && on(PointPreFilter) {
		f.preFilter = append(f.preFilter, x)
	}
	if x, ok := p.(FilterPlugin); ok && on(PointFilter) {
		f.filter = append(f.filter, x)
	}
	if x, ok := p.(PostFilterPlugin); ok && on(PointPostFilter) {
		f.postFilter = append(f.postFilter, x)
	}
	if x, ok := p.(PreScorePlugin); ok && on(PointPreScore) {
		f.preScore = append(f.preScore, x)
	}
	if x, ok := p.(ScorePlugin); ok && on(PointScore) {
		f.score = append(f.score, x)
		f.scoreWeight = append(f.scoreWeight, int64(max(spec.Weight, 1)))
	}
	if x, ok := p.(ReservePlugin); ok && on(PointReserve) {
		f.reserve = append(f.reserve, x)
	}
	if x, ok := p.(PermitPlugin); ok && on(PointPermit) {
		f.permit = append(f.permit, x)
	}
	if x, ok := p.(BindPlugin); ok && on(PointBind) {
		f.bind = append(f.bind, x)
	}
	if x, ok := p.(EnqueueExtensions); ok {
		f.events[p.Name()] = x.EventsToRegister()
	}
}

// SchedulerName implements Handle.
func (f *Framework) SchedulerName() string { return f.profile.SchedulerName }

// Snapshot implements Handle.
func (f *Framework) Snapshot() *Snapshot { return f.env.Snapshot }

// ClientSet implements Handle.
func (f *Framework) ClientSet() kubernetes.Interface { return f.env.Client }

// EventRecorder implements Handle.
func (f *Framework) EventRecorder() record.EventRecorder { return f.env.Recorder }

// SharedInformerFactory implements Handle.
func (f *Framework) SharedInformerFactory() informers.SharedInformerFactory { return f.env.Informers }

// Parallelizer implements Handle.
func (f *Framework) Parallelizer() Parallelizer { return f.parallel }

// NominatedPodsForNode implements Handle.
func (f *Framework) NominatedPodsForNode(nodeName string) []*PodInfo {
	if f.env.Nominator == nil {
		return nil
	}
	return f.env.Nominator.NominatedPodsForNode(nodeName)
}

// PercentageOfNodesToScore is the profile's setting (0: adaptive).
func (f *Framework) PercentageOfNodesToScore() int32 { return f.profile.PercentageOfNodesToScore }

// HasPostFilterPlugins reports whether PostFilter (preemption) is on.
func (f *Framework) HasPostFilterPlugins() bool { return len(f.postFilter) > 0 }

// HasScorePlugins reports whether any Score plugin is on.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// EventsToRegister returns each plugin's enqueue events.
func (f *Framework) EventsToRegister() map[string][]ClusterEvent { return f.events }

// PluginArgs decodes args strictly into v; empty args leave v as is.
func PluginArgs(args json.RawMessage, v any) error {
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytesReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode args: %w", err)
	}
	return nil
}

// RunPreFilterPlugins runs PreFilter; a rejection is returned with the
// rejecting plugin. Plugins that return Skip are recorded in state.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod) (*PreFilterResult, *Status) {
	var result *PreFilterResult
	skip := sets.New[string]()
	for _, p := range f.preFilter {
		r, st := p.PreFilter(ctx, state, pod)
		switch {
		case st.IsSkip():
			skip.Insert(p.Name())
			continue
		case st.IsRejected():
			return nil, st.WithPlugin(p.Name())
		case !st.IsSuccess():
			return nil, AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
		}
		result = intersect(result, r)
	}
	state.SkipFilterPlugins = skip
	state.filters = make([]FilterPlugin, 0, len(f.filter))
	for _, p := range f.filter {
		if !skip.Has(p.Name()) {
			state.filters = append(state.filters, p)
		}
	}
	return result, nil
}

func intersect(a, b *PreFilterResult) *PreFilterResult {
	if b == nil || b.NodeNames == nil {
		return a
	}
	if a == nil || a.NodeNames == nil {
		return b
	}
	out := &PreFilterResult{NodeNames: map[string]struct{}{}}
	for n := range a.NodeNames {
		if _, ok := b.NodeNames[n]; ok {
			out.NodeNames[n] = struct{}{}
		}
	}
	return out
}

// RunFilterPlugins runs the filters on one node and returns the first
// non-success status.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status {
	filters := state.filters
	if filters == nil {
		filters = f.filter
	}
	for _, p := range filters {
		st := p.Filter(ctx, state, pod, nodeInfo)
		if st.IsSuccess() {
			continue
		}
		if !st.IsRejected() {
			st = AsStatus(fmt.Errorf("running %q filter plugin: %w", p.Name(), st.AsError()))
		}
		return st.WithPlugin(p.Name())
	}
	return nil
}

// RunFilterPluginsWithNominatedPods runs the filters twice when pods of at
// least the pod's priority are nominated to the node: once as if they were
// there (they were promised the room) and once without them (they might
// not come, and pod affinity may need them absent), like upstream.
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status {
	added, stateWith, infoWith, st := f.addNominatedPods(ctx, pod, state, nodeInfo)
	if !st.IsSuccess() {
		return st
	}
	if added {
		if st := f.RunFilterPlugins(ctx, stateWith, pod, infoWith); !st.IsSuccess() {
			return st
		}
	}
	return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
}

func (f *Framework) addNominatedPods(ctx context.Context, pod *corev1.Pod, state *CycleState, nodeInfo *NodeInfo) (bool, *CycleState, *NodeInfo, *Status) {
	if f.env.Nominator == nil || f.env.Nominator.Len() == 0 || nodeInfo.Node() == nil {
		return false, state, nodeInfo, nil
	}
	nominated := f.env.Nominator.NominatedPodsForNode(nodeInfo.Name())
	if len(nominated) == 0 {
		return false, state, nodeInfo, nil
	}
	var stateOut *CycleState
	var infoOut *NodeInfo
	prio := PodPriority(pod)
	for _, np := range nominated {
		if PodPriority(np.Pod) < prio || np.Pod.UID == pod.UID {
			continue
		}
		if infoOut == nil {
			stateOut, infoOut = state.Clone(), nodeInfo.Clone()
		}
		infoOut.AddPodInfo(np)
		if st := f.RunPreFilterExtensionAddPod(ctx, stateOut, pod, np, infoOut); !st.IsSuccess() {
			return false, state, nodeInfo, st
		}
	}
	if infoOut == nil {
		return false, state, nodeInfo, nil
	}
	return true, stateOut, infoOut, nil
}

// RunPreFilterExtensionAddPod tells every PreFilter state that podToAdd is
// now on nodeInfo.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, p := range f.preFilter {
		ext := p.PreFilterExtensions()
		if ext == nil || state.SkipFilterPlugins.Has(p.Name()) {
			continue
		}
		if st := ext.AddPod(ctx, state, podToSchedule, podToAdd, nodeInfo); !st.IsSuccess() {
			return AsStatus(fmt.Errorf("running AddPod on PreFilter plugin %q: %w", p.Name(), st.AsError()))
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells every PreFilter state that
// podToRemove left nodeInfo.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, p := range f.preFilter {
		ext := p.PreFilterExtensions()
		if ext == nil || state.SkipFilterPlugins.Has(p.Name()) {
			continue
		}
		if st := ext.RemovePod(ctx, state, podToSchedule, podToRemove, nodeInfo); !st.IsSuccess() {
			return AsStatus(fmt.Errorf("running RemovePod on PreFilter plugin %q: %w", p.Name(), st.AsError()))
		}
	}
	return nil
}

// RunPostFilterPlugins runs PostFilter until one succeeds.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses NodeToStatus) (*PostFilterResult, *Status) {
	var result *PostFilterResult
	var reasons []string
	rejector := ""
	for _, p := range f.postFilter {
		r, st := p.PostFilter(ctx, state, pod, statuses)
		switch {
		case st.IsSuccess():
			return r, st
		case st.Code() == UnschedulableAndUnresolvable:
			return r, st.WithPlugin(p.Name())
		case !st.IsRejected():
			return nil, AsStatus(st.AsError()).WithPlugin(p.Name())
		}
		if r != nil {
			result = r
		}
		reasons = append(reasons, st.Reasons()...)
		if rejector == "" {
			rejector = p.Name()
		}
	}
	return result, NewStatus(Unschedulable, reasons...).WithPlugin(rejector)
}

// RunPreScorePlugins runs PreScore; Skip is recorded in state.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status {
	skip := sets.New[string]()
	for _, p := range f.preScore {
		st := p.PreScore(ctx, state, pod, nodes)
		if st.IsSkip() {
			skip.Insert(p.Name())
			continue
		}
		if !st.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
		}
	}
	state.SkipScorePlugins = skip
	return nil
}

// scoreChunk is how many nodes a scoring goroutine takes at a time.
const scoreChunk = 32

// RunScorePlugins scores nodes with every Score plugin, normalizes, weighs
// and returns the total per node (same order as nodes). The totals are
// written to totals, reused when it has the capacity (callers pass the
// last cycle's), else to a new slice.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo, totals []int64) ([]int64, *Status) {
	sc := f.takeScoreScratch(len(nodes))
	defer f.scoreScratch.Store(sc)
	for i, p := range f.score {
		if !state.SkipScorePlugins.Has(p.Name()) {
			sc.active = append(sc.active, i)
		}
	}
	f.parallel.Chunks(ctx, len(nodes), scoreChunk, func(lo, hi int) bool {
		for j := lo; j < hi; j++ {
			name := nodes[j].Name()
			for _, i := range sc.active {
				s, st := f.score[i].Score(ctx, state, pod, nodes[j])
				if !st.IsSuccess() {
					sc.errOnce.Do(func() {
						sc.err = AsStatus(fmt.Errorf("running Score plugin %q: %w", f.score[i].Name(), st.AsError()))
					})
					return false
				}
				sc.perPlugin[i][j] = NodeScore{Name: name, Score: s}
			}
		}
		return true
	})
	if sc.err != nil {
		return nil, sc.err
	}
	if err := ctx.Err(); err != nil {
		return nil, AsStatus(err)
	}
	if cap(totals) < len(nodes) {
		totals = make([]int64, len(nodes))
	}
	totals = totals[:len(nodes)]
	clear(totals)
	for _, i := range sc.active {
		p := f.score[i]
		if ext := p.ScoreExtensions(); ext != nil {
			if st := ext.NormalizeScore(ctx, state, pod, sc.perPlugin[i]); !st.IsSuccess() {
				return nil, AsStatus(fmt.Errorf("running Normalize on Score plugin %q: %w", p.Name(), st.AsError()))
			}
		}
		for j, s := range sc.perPlugin[i] {
			if s.Score < MinNodeScore || s.Score > MaxNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %q returns an invalid score %d for node %q", p.Name(), s.Score, s.Name))
			}
			totals[j] += s.Score * f.scoreWeight[i]
		}
	}
	return totals, nil
}

// scoreScratch is RunScorePlugins' working memory: a score slice per
// score plugin, the plugins that run and the first error.
type scoreScratch struct {
	perPlugin [][]NodeScore
	active    []int
	errOnce   sync.Once
	err       *Status
}

// takeScoreScratch returns the recycled scratch (a new one if another
// call holds it), reset, with score slices of length n. A plain recycled
// pointer rather than a sync.Pool: the scheduling cycle runs one at a
// time per profile and a pool drops its contents at every collection.
func (f *Framework) takeScoreScratch(n int) *scoreScratch {
	sc := f.scoreScratch.Swap(nil)
	if sc == nil {
		sc = &scoreScratch{perPlugin: make([][]NodeScore, len(f.score))}
	}
	sc.active, sc.errOnce, sc.err = sc.active[:0], sync.Once{}, nil
	for i := range sc.perPlugin {
		if cap(sc.perPlugin[i]) < n {
			sc.perPlugin[i] = make([]NodeScore, n)
		}
		sc.perPlugin[i] = sc.perPlugin[i][:n]
	}
	return sc
}

// RunReservePluginsReserve runs Reserve; on failure the caller must run
// Unreserve.
func (f *Framework) RunReservePluginsReserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status {
	for _, p := range f.reserve {
		if st := p.Reserve(ctx, state, pod, nodeName); !st.IsSuccess() {
			if !st.IsRejected() {
				st = AsStatus(fmt.Errorf("running Reserve plugin %q: %w", p.Name(), st.AsError()))
			}
			return st.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunReservePluginsUnreserve runs Unreserve in reverse order.
func (f *Framework) RunReservePluginsUnreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, nodeName)
	}
}

// RunBindPlugins runs the binders until one does not Skip.
func (f *Framework) RunBindPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status {
	for _, p := range f.bind {
		st := p.Bind(ctx, state, pod, nodeName)
		if st.IsSkip() {
			continue
		}
		if !st.IsSuccess() {
			if !st.IsRejected() {
				st = AsStatus(fmt.Errorf("running Bind plugin %q: %w", p.Name(), st.AsError()))
			}
			return st.WithPlugin(p.Name())
		}
		return nil
	}
	return NewStatus(Skip, "all bind plugins skipped")
}

// PodPriority is the pod's spec.priority, 0 when unset.
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
