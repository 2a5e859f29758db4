package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	policylisters "k8s.io/client-go/listers/policy/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// DefaultPreemptionName is the plugin's name.
const DefaultPreemptionName = "DefaultPreemption"

// Preemption messages, as upstream words them.
const (
	ErrReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	ErrReasonNoVictims            = "No preemption victims found for incoming pod"
	msgPreemptNever               = "not eligible due to preemptionPolicy=Never."
	msgTerminatingOnNominated     = "not eligible due to a terminating pod on the nominated node."
)

// DefaultPreemptionArgs are the plugin's arguments: how many candidate
// nodes a preemption evaluates at least (percentage of nodes, absolute).
type DefaultPreemptionArgs struct {
	MinCandidateNodesPercentage *int32 `json:"minCandidateNodesPercentage,omitempty"`
	MinCandidateNodesAbsolute   *int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

// DefaultPreemption is the PostFilter that makes room for a pod no node
// fits: on the best node it deletes the fewest, lowest-priority pods
// (avoiding PodDisruptionBudget violations when it can) and nominates the
// node for the pod.
type DefaultPreemption struct {
	h             framework.Handle
	minPercentage int32
	minAbsolute   int32
	pdbs          policylisters.PodDisruptionBudgetLister
}

// NewDefaultPreemption is the plugin's factory.
func NewDefaultPreemption(raw json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	var args DefaultPreemptionArgs
	if err := framework.PluginArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &DefaultPreemption{h: h, minPercentage: 10, minAbsolute: 100}
	if v := args.MinCandidateNodesPercentage; v != nil {
		if *v < 0 || *v > 100 {
			return nil, fmt.Errorf("minCandidateNodesPercentage: Invalid value: %d: not in valid range [0, 100]", *v)
		}
		p.minPercentage = *v
	}
	if v := args.MinCandidateNodesAbsolute; v != nil {
		if *v < 0 {
			return nil, fmt.Errorf("minCandidateNodesAbsolute: Invalid value: %d: not in valid range [0, inf)", *v)
		}
		p.minAbsolute = *v
	}
	if p.minPercentage == 0 && p.minAbsolute == 0 {
		return nil, fmt.Errorf("minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero")
	}
	if f := h.SharedInformerFactory(); f != nil {
		p.pdbs = f.Policy().V1().PodDisruptionBudgets().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*DefaultPreemption) Name() string { return DefaultPreemptionName }

// PostFilter implements framework.PostFilterPlugin.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	result, st := p.preempt(ctx, state, pod, statuses)
	if msg := st.Message(); msg != "" {
		return result, framework.NewStatus(st.Code(), "preemption: "+msg)
	}
	return result, st
}

// candidate is a node where evicting victims makes the pod fit.
type candidate struct {
	node          string
	victims       []*framework.PodInfo
	pdbViolations int
}

func (p *DefaultPreemption) preempt(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if ok, msg := p.eligible(pod, statuses); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, msg)
	}
	snap := p.h.Snapshot()
	all := snap.List()
	if len(all) == 0 {
		return nil, framework.AsStatus(framework.ErrNoNodesAvailable)
	}
	unhelpful := framework.NodeToStatus{}
	var potential []*framework.NodeInfo
	for _, ni := range all {
		if st := statuses[ni.Name()]; st.Code() == framework.UnschedulableAndUnresolvable {
			unhelpful[ni.Name()] = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPreemptionNotHelpful)
			continue
		}
		potential = append(potential, ni)
	}
	var candidates []candidate
	if len(potential) > 0 {
		pdbs := p.listPDBs()
		candidates = p.dryRun(ctx, state, pod, potential, pdbs, unhelpful)
	}
	if len(candidates) == 0 {
		fe := &framework.FitError{Pod: pod, NumAllNodes: len(all), Diagnosis: framework.Diagnosis{NodeToStatus: unhelpful}}
		return &framework.PostFilterResult{Clear: true}, framework.NewStatus(framework.Unschedulable, fe.Error())
	}
	best := pickCandidate(candidates)
	if err := p.prepare(ctx, pod, best); err != nil {
		return nil, framework.AsStatus(err)
	}
	return &framework.PostFilterResult{NominatedNodeName: best.node}, nil
}

// eligible reports whether pod may preempt: not with preemptionPolicy
// Never, and not again while a lower-priority victim on its nominated node
// is still terminating.
func (p *DefaultPreemption) eligible(pod *corev1.Pod, statuses framework.NodeToStatus) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, msgPreemptNever
	}
	nom := pod.Status.NominatedNodeName
	if nom == "" || statuses[nom].Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	ni, err := p.h.Snapshot().Get(nom)
	if err != nil {
		return true, ""
	}
	prio := framework.PodPriority(pod)
	for _, pi := range ni.Pods {
		if pi.Pod.DeletionTimestamp != nil && framework.PodPriority(pi.Pod) < prio {
			return false, msgTerminatingOnNominated
		}
	}
	return true, ""
}

func (p *DefaultPreemption) listPDBs() []*policyv1.PodDisruptionBudget {
	if p.pdbs == nil {
		return nil
	}
	pdbs, err := p.pdbs.List(labels.Everything())
	if err != nil {
		return nil
	}
	return pdbs
}

// numCandidates is how many candidates to look for among n nodes.
func (p *DefaultPreemption) numCandidates(n int) int {
	c := max(int(int64(n)*int64(p.minPercentage)/100), int(p.minAbsolute))
	return min(c, n)
}

// dryRun evaluates nodes (from a random offset, in parallel) until enough
// candidates are found; nodes without a way to fit get their status in
// failed.
func (p *DefaultPreemption) dryRun(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget, failed framework.NodeToStatus) []candidate {
	want := p.numCandidates(len(nodes))
	offset := rand.IntN(len(nodes))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // guards found, nonViolating and failed
	var found []candidate
	nonViolating := 0
	p.h.Parallelizer().Until(ctx, len(nodes), func(i int) {
		ni := nodes[(offset+i)%len(nodes)].Clone()
		victims, violations, st := p.selectVictims(ctx, state.Clone(), pod, ni, pdbs)
		mu.Lock()
		defer mu.Unlock()
		if !st.IsSuccess() {
			failed[ni.Name()] = st
			return
		}
		found = append(found, candidate{node: ni.Name(), victims: victims, pdbViolations: violations})
		if violations == 0 {
			nonViolating++
		}
		if nonViolating > 0 && len(found) >= want {
			cancel()
		}
	})
	return found
}

// prepare evicts the victims of c through the API and clears the
// nominations of lower-priority pods nominated to the node.
func (p *DefaultPreemption) prepare(ctx context.Context, pod *corev1.Pod, c candidate) error {
	cs := p.h.ClientSet()
	errs := make(chan error, len(c.victims))
	var wg sync.WaitGroup
	for _, v := range c.victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.evict(ctx, pod, v.Pod, c.node)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	prio := framework.PodPriority(pod)
	for _, np := range p.h.NominatedPodsForNode(c.node) {
		if framework.PodPriority(np.Pod) < prio && np.Pod.UID != pod.UID {
			clear := ""
			if err := framework.PatchPodStatus(ctx, cs, np.Pod, nil, &clear); err != nil && !apierrors.IsNotFound(err) {
				slog.Warn("scheduler: clear nominated node of lower-priority pod", "pod", np.Pod.Namespace+"/"+np.Pod.Name, "err", err)
			}
		}
	}
	return nil
}

// evict marks the victim with the DisruptionTarget condition, deletes it
// with its own grace period, and records a Preempted event.
func (p *DefaultPreemption) evict(ctx context.Context, preemptor, victim *corev1.Pod, node string) error {
	cs := p.h.ClientSet()
	cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: corev1.PodReasonPreemptionByScheduler, LastTransitionTime: metav1.Now(),
		Message: p.h.SchedulerName() + ": preempting to accommodate a higher priority pod"}
	if err := framework.PatchPodStatus(ctx, cs, victim, cond, nil); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		slog.Warn("scheduler: set DisruptionTarget condition", "pod", victim.Namespace+"/"+victim.Name, "err", err)
	}
	uid := victim.UID
	err := cs.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("preempt pod %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	if r := p.h.EventRecorder(); r != nil {
		r.Eventf(victim, corev1.EventTypeNormal, "Preempted", "Preempted by pod %s on node %s", preemptor.UID, node)
	}
	return nil
}
