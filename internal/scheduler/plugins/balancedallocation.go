package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// BalancedAllocationName is the plugin's name.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// BalancedAllocationArgs are the plugin's arguments.
type BalancedAllocationArgs struct {
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// BalancedAllocation prefers nodes where, with the pod placed, the
// fractions of cpu and memory in use are close to each other: score =
// (1 - standard deviation of the fractions) * 100.
type BalancedAllocation struct {
	resources []ResourceSpec
}

// NewBalancedAllocation is the plugin's factory.
func NewBalancedAllocation(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	var args BalancedAllocationArgs
	if err := framework.PluginArgs(raw, &args); err != nil {
		return nil, err
	}
	if len(args.Resources) == 0 {
		args.Resources = defaultScoringResources()
	}
	for i, r := range args.Resources {
		if r.Name == "" {
			return nil, fmt.Errorf("resources[%d].name: required", i)
		}
	}
	return &BalancedAllocation{resources: args.Resources}, nil
}

// Name implements framework.Plugin.
func (*BalancedAllocation) Name() string { return BalancedAllocationName }

// EventsToRegister implements framework.EnqueueExtensions; scoring never
// makes a pod unschedulable.
func (*BalancedAllocation) EventsToRegister() []framework.ClusterEvent { return nil }

const balancedKey framework.StateKey = "PreScore" + BalancedAllocationName

type balancedState struct{ req framework.Resource }

func (s *balancedState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin; a pod requesting none of
// the resources skips scoring.
func (b *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	req := framework.PodRequests(pod, nil)
	requests := false
	for _, r := range b.resources {
		if amountOf(corev1.ResourceName(r.Name), &req) > 0 {
			requests = true
		}
	}
	if !requests {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(balancedKey, &balancedState{req: req})
	return nil
}

func amountOf(name corev1.ResourceName, r *framework.Resource) int64 {
	switch name {
	case corev1.ResourceCPU:
		return r.MilliCPU
	case corev1.ResourceMemory:
		return r.Memory
	case corev1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	default:
		return r.Scalar[name]
	}
}

// Score implements framework.ScorePlugin.
func (b *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := readState[*balancedState](state, balancedKey)
	if err != nil {
		s = &balancedState{req: framework.PodRequests(pod, nil)}
	}
	fractions := make([]float64, 0, len(b.resources))
	for _, r := range b.resources {
		name := corev1.ResourceName(r.Name)
		alloc := amountOf(name, &ni.Allocatable)
		if alloc == 0 {
			continue
		}
		f := float64(amountOf(name, &ni.Requested)+amountOf(name, &s.req)) / float64(alloc)
		fractions = append(fractions, min(f, 1))
	}
	return int64((1 - stdDev(fractions)) * float64(framework.MaxNodeScore)), nil
}

func stdDev(xs []float64) float64 {
	switch len(xs) {
	case 0, 1:
		return 0
	case 2:
		return math.Abs(xs[0]-xs[1]) / 2
	}
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return math.Sqrt(v / float64(len(xs)))
}

// ScoreExtensions implements framework.ScorePlugin.
func (*BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }
