package plugins

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// TaintTolerationName is the plugin's name.
const TaintTolerationName = "TaintToleration"

// TaintToleration rejects nodes with a NoSchedule or NoExecute taint the
// pod does not tolerate, and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
type TaintToleration struct{}

// NewTaintToleration is the plugin's factory.
func NewTaintToleration(json.RawMessage, framework.Handle) (framework.Plugin, error) {
	return &TaintToleration{}, nil
}

// Name implements framework.Plugin.
func (*TaintToleration) Name() string { return TaintTolerationName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*TaintToleration) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeTaint}}
}

func scheduleOrExecute(e corev1.TaintEffect) bool {
	return e == corev1.TaintEffectNoSchedule || e == corev1.TaintEffectNoExecute
}

// Filter implements framework.FilterPlugin.
func (*TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	taint, found := firstUntoleratedTaint(ni.Taints(), pod.Spec.Tolerations, scheduleOrExecute)
	if !found {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

const taintTolerationKey framework.StateKey = "PreScore" + TaintTolerationName

// preferTolerations are the tolerations that count for PreferNoSchedule.
type preferTolerations []corev1.Toleration

func (p preferTolerations) Clone() framework.StateData { return p }

// PreScore implements framework.PreScorePlugin.
func (*TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var tols preferTolerations
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(taintTolerationKey, tols)
	return nil
}

// Score implements framework.ScorePlugin: the number of untolerated
// PreferNoSchedule taints (reversed by NormalizeScore).
func (*TaintToleration) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	tols, err := readState[preferTolerations](state, taintTolerationKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var n int64
	taints := ni.Taints()
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !toleratesTaint(tols, t) {
			n++
		}
	}
	return n, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *TaintToleration) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions.
func (*TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	defaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
