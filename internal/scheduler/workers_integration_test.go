package scheduler_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestWorkersExitWithScheduler: binding cycles and status updates run on
// reused workers; once the scheduler has stopped none of them is left.
func TestWorkersExitWithScheduler(t *testing.T) {
	c := startCluster(t, []*corev1.Node{node("n1").Obj(), node("n2").Obj()})
	stop := c.runScheduler(noLeaderElection())
	for i := range 10 {
		c.createPod(mkPod().Name(fmt.Sprint("p", i)).Req("cpu", "100m").Obj())
	}
	c.createPod(mkPod().Name("too-big").Req("cpu", "3").Obj())
	for i := range 10 {
		c.waitBound(fmt.Sprint("p", i))
	}
	c.waitUnschedulable("too-big")
	stop()
	buf := make([]byte, 8<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"scheduler.(*workerPool).worker(", "scheduler.(*Scheduler).bindingCycle("} {
		if n := strings.Count(stacks, fn); n != 0 {
			t.Errorf("%d goroutines in %s after the scheduler stopped", n, fn)
		}
	}
}
