package plugins_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	st "github.com/skiffhq/skiff/internal/scheduler/schedtest"
)

// TestScoresWithReusedMemory: RunScorePlugins recycles its working memory
// and writes into the caller's buffer; the totals are the same as with
// fresh memory whatever the buffer held, for fewer or more nodes than
// the last call, and with calls running at once.
func TestScoresWithReusedMemory(t *testing.T) {
	var nodes []*corev1.Node
	for i := range 40 {
		nodes = append(nodes, st.MakeNode().Name(fmt.Sprint("n", i)).Zone(fmt.Sprint("z", i%3)).
			Capacity("cpu", fmt.Sprint(2+i%5), "memory", fmt.Sprintf("%dGi", 4+i%7), "pods", "20").Obj())
	}
	var existing []*corev1.Pod
	for i := range 60 {
		existing = append(existing, st.MakePod().Name(fmt.Sprint("e", i)).Node(fmt.Sprint("n", i%17)).
			Label("app", fmt.Sprint("a", i%3)).Req("cpu", "500m", "memory", "1Gi").Obj())
	}
	specs := []framework.PluginSpec{{Name: plugins.NodeResourcesFitName}, {Name: plugins.BalancedAllocationName},
		{Name: plugins.InterPodAffinityName}, {Name: plugins.PodTopologySpreadName}}
	e := newEnv(t, existing, nodes, specs)
	ctx := context.Background()
	pods := make([]*corev1.Pod, 8)
	for i := range pods {
		pods[i] = st.MakePod().Name(fmt.Sprint("p", i)).Label("app", fmt.Sprint("a", i%3)).
			Req("cpu", fmt.Sprint(100*(i+1), "m"), "memory", fmt.Sprintf("%dMi", 256*(i+1))).
			PreferredPodAntiAffinity(10, st.PodAffinityTerm(corev1.LabelHostname, "app", fmt.Sprint("a", i%3))).
			Spread(1, corev1.LabelTopologyZone, corev1.ScheduleAnyway, "app", fmt.Sprint("a", i%3)).Obj()
	}
	all := e.snap.List()
	score := func(pod *corev1.Pod, nodes []*framework.NodeInfo, buf []int64) []int64 {
		state := framework.NewCycleState()
		if s := e.fwk.RunPreScorePlugins(ctx, state, pod, nodes); !s.IsSuccess() {
			t.Error(s)
			return nil
		}
		totals, s := e.fwk.RunScorePlugins(ctx, state, pod, nodes, buf)
		if !s.IsSuccess() {
			t.Error(s)
			return nil
		}
		return totals
	}
	// Fresh memory, one call at a time, every node and the first 10.
	want := map[string][]int64{}
	for _, pod := range pods {
		want[pod.Name+"/all"] = slices.Clone(score(pod, all, nil))
		want[pod.Name+"/10"] = slices.Clone(score(pod, all[:10], nil))
	}
	// One reused buffer, full of another cycle's scores, shrinking and
	// growing.
	buf := make([]int64, 0, len(all))
	for round := range 3 {
		for _, pod := range pods {
			for _, n := range []int{len(all), 10} {
				buf = buf[:cap(buf)]
				for i := range buf {
					buf[i] = int64(round*1000 + i)
				}
				buf = score(pod, all[:n], buf)
				key := pod.Name + "/all"
				if n == 10 {
					key = pod.Name + "/10"
				}
				if !slices.Equal(buf, want[key]) {
					t.Fatalf("round %d %s: reused memory scores %v, fresh %v", round, key, buf, want[key])
				}
			}
		}
	}
	// Calls at once, each with its own buffer.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var own []int64
			for i := range 20 {
				pod := pods[(g+i)%len(pods)]
				own = score(pod, all, own)
				if !slices.Equal(own, want[pod.Name+"/all"]) {
					t.Errorf("concurrent %s: %v, fresh %v", pod.Name, own, want[pod.Name+"/all"])
					return
				}
			}
		}()
	}
	wg.Wait()
}
