package scheduler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/scheduler"
)

func electedOptions(id string) scheduler.Options {
	o := scheduler.DefaultOptions()
	o.Identity = id
	o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 2*time.Second, 1500*time.Millisecond, 100*time.Millisecond
	return o
}

func (c *cluster) leaseHolder() string {
	l, err := c.client.CoordinationV1().Leases("kube-system").Get(c.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestLeaderElection runs two schedulers: one holds the Lease and places
// every pod exactly once; when it stops the other takes over.
func TestLeaderElection(t *testing.T) {
	c := startCluster(t, []*corev1.Node{node("n1").Capacity("cpu", "8", "pods", "100").Obj()})
	stop := map[string]func(){
		"sched-a": c.runScheduler(electedOptions("sched-a")),
		"sched-b": c.runScheduler(electedOptions("sched-b")),
	}
	var leader string
	c.eventually("a leader", func() (bool, string) {
		leader = c.leaseHolder()
		return leader != "", "no holder"
	})
	for i := range 20 {
		c.createPod(mkPod().Name(fmt.Sprintf("p%d", i)).Req("cpu", "100m").Obj())
	}
	for i := range 20 {
		name := fmt.Sprintf("p%d", i)
		c.waitBound(name)
		c.waitEvent(name, "Scheduled")
	}
	for i := range 20 {
		name := fmt.Sprintf("p%d", i)
		scheduled := 0
		for _, e := range c.events(name) {
			if strings.Contains(e, "Scheduled") {
				scheduled++
			}
			if strings.Contains(e, "FailedScheduling") {
				t.Errorf("%s: %s (two active schedulers?)", name, e)
			}
		}
		if scheduled != 1 {
			t.Errorf("%s: %d Scheduled events, want 1", name, scheduled)
		}
	}
	if got := c.leaseHolder(); got != leader {
		t.Fatalf("leader changed from %s to %s", leader, got)
	}

	stop[leader]()
	c.eventually("failover", func() (bool, string) {
		h := c.leaseHolder()
		return h != "" && h != leader, "holder " + h
	})
	c.createPod(mkPod().Name("after").Obj())
	c.waitBound("after")
}
