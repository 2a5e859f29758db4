package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// TestNeverOvercommitted is a property test through the API: random nodes
// and random pods (some deleted while the scheduler works); afterwards no
// node holds more requests or pods than its allocatable.
func TestNeverOvercommitted(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, seed))
			var nodes []*corev1.Node
			for i := range 12 {
				nodes = append(nodes, mkNode().Name(fmt.Sprintf("n%d", i)).Zone(fmt.Sprint("z", i%3)).Capacity(
					"cpu", fmt.Sprint(1+rng.IntN(4)), "memory", fmt.Sprintf("%dGi", 1+rng.IntN(8)), "pods", fmt.Sprint(2+rng.IntN(10))).Obj())
			}
			c := newCluster(t, nodes, nil)
			classes := []string{c.class(0), c.class(1), c.class(2)}
			const pods = 150
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, uint64(w)))
					for i := w; i < pods; i += 4 {
						p := mkPod().Name(fmt.Sprintf("p%d", i)).Label("app", fmt.Sprint("a", i%5)).PriorityClass(classes[r.IntN(3)]).
							Req("cpu", fmt.Sprintf("%dm", 100+r.IntN(900)), "memory", fmt.Sprintf("%dMi", 64+r.IntN(1024)))
						if i%7 == 0 {
							p = p.PodAntiAffinity(podTerm(corev1.LabelHostname, fmt.Sprint("a", i%5)))
						}
						if i%11 == 0 {
							p = p.Spread(1, corev1.LabelTopologyZone, corev1.DoNotSchedule, "app", fmt.Sprint("a", i%5))
						}
						c.createPod(quick(p.Obj()))
						if r.IntN(10) == 0 {
							_ = c.client.CoreV1().Pods("default").Delete(c.ctx, fmt.Sprintf("p%d", i), metav1.DeleteOptions{})
						}
					}
				}()
			}
			wg.Wait()
			c.eventually("every pod placed or refused", func() (bool, string) {
				list, err := c.client.CoreV1().Pods("default").List(c.ctx, metav1.ListOptions{})
				if err != nil {
					return false, err.Error()
				}
				pending := 0
				for _, p := range list.Items {
					if p.Spec.NodeName == "" && framework.PodCondition(&p, corev1.PodScheduled) == nil {
						pending++
					}
				}
				return pending == 0, fmt.Sprint(pending, " pods untouched")
			})
			checkNotOvercommitted(t, c)
		})
	}
}

func checkNotOvercommitted(t *testing.T, c *cluster) {
	t.Helper()
	nodes, err := c.client.CoreV1().Nodes().List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.client.CoreV1().Pods("").List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byNode := map[string]*framework.NodeInfo{}
	for i := range nodes.Items {
		ni := framework.NewNodeInfo()
		ni.SetNode(&nodes.Items[i])
		byNode[nodes.Items[i].Name] = ni
	}
	for i := range pods.Items {
		if ni := byNode[pods.Items[i].Spec.NodeName]; ni != nil {
			ni.AddPod(&pods.Items[i])
		}
	}
	placed := 0
	for name, ni := range byNode {
		placed += len(ni.Pods)
		r, a := ni.Requested, ni.Allocatable
		if r.MilliCPU > a.MilliCPU || r.Memory > a.Memory || int64(len(ni.Pods)) > a.AllowedPodNumber {
			t.Errorf("node %s overcommitted: cpu %d/%d memory %d/%d pods %d/%d", name, r.MilliCPU, a.MilliCPU, r.Memory, a.Memory, len(ni.Pods), a.AllowedPodNumber)
		}
	}
	if placed == 0 {
		t.Error("nothing was placed")
	}
}
