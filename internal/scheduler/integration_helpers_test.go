package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/scheduler"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// cluster is a test server with a scheduler running against it.
type cluster struct {
	t      *testing.T
	srv    *testserver.Server
	client kubernetes.Interface
	ctx    context.Context
}

// newCluster starts a server, creates nodes and starts a scheduler with
// leader election off (edit may change the options).
func newCluster(t *testing.T, nodes []*corev1.Node, edit func(*scheduler.Options)) *cluster {
	t.Helper()
	c := startCluster(t, nodes)
	o := scheduler.DefaultOptions()
	o.LeaderElect = false
	if edit != nil {
		edit(&o)
	}
	c.runScheduler(o)
	return c
}

// startCluster starts a server with nodes and no scheduler.
func startCluster(t *testing.T, nodes []*corev1.Node) *cluster {
	t.Helper()
	srv := testserver.Start(t, nil)
	c := &cluster{t: t, srv: srv, client: srv.Client, ctx: t.Context()}
	for _, n := range nodes {
		c.createNode(n)
	}
	return c
}

// noLeaderElection are options for a single scheduler.
func noLeaderElection() scheduler.Options {
	o := scheduler.DefaultOptions()
	o.LeaderElect = false
	return o
}

// runScheduler runs a scheduler until the test ends.
func (c *cluster) runScheduler(o scheduler.Options) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- scheduler.Run(ctx, c.srv.Config, o) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			c.t.Errorf("scheduler.Run: %v", err)
		}
	}
	c.t.Cleanup(stop)
	return stop
}

func (c *cluster) createNode(n *corev1.Node) {
	c.t.Helper()
	n = n.DeepCopy()
	n.UID = ""
	if _, err := c.client.CoreV1().Nodes().Create(c.ctx, n, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create node %s: %v", n.Name, err)
	}
}

// createPod creates a pod (UID cleared); a pod with spec.nodeName is bound.
func (c *cluster) createPod(p *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	p = p.DeepCopy()
	p.UID = ""
	got, err := c.client.CoreV1().Pods(p.Namespace).Create(c.ctx, p, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return got
}

func (c *cluster) pod(name string) *corev1.Pod {
	c.t.Helper()
	p, err := c.client.CoreV1().Pods("default").Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// class returns the name of a PriorityClass with value v, creating it
// the first time: the server's Priority admission resolves pods' priority
// from it.
func (c *cluster) class(v int32) string {
	c.t.Helper()
	name := fmt.Sprintf("prio-%d", v)
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: v}
	if _, err := c.client.SchedulingV1().PriorityClasses().Create(c.ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		c.t.Fatalf("create priority class: %v", err)
	}
	return name
}

// neverClass is class(v) with preemptionPolicy Never.
func (c *cluster) neverClass(v int32) string {
	c.t.Helper()
	name := fmt.Sprintf("never-%d", v)
	never := corev1.PreemptNever
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: v, PreemptionPolicy: &never}
	if _, err := c.client.SchedulingV1().PriorityClasses().Create(c.ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		c.t.Fatalf("create priority class: %v", err)
	}
	return name
}

// eventually polls cond every 20ms for up to 20s.
func (c *cluster) eventually(what string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// waitBound waits for the pod to be bound and returns its node.
func (c *cluster) waitBound(name string) string {
	c.t.Helper()
	var node string
	c.eventually("pod "+name+" bound", func() (bool, string) {
		p := c.pod(name)
		node = p.Spec.NodeName
		return node != "", fmt.Sprintf("%+v", p.Status.Conditions)
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False with a message and
// returns the message.
func (c *cluster) waitUnschedulable(name string) string {
	c.t.Helper()
	var msg string
	c.eventually("pod "+name+" unschedulable", func() (bool, string) {
		p := c.pod(name)
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				msg = cond.Message
				return true, ""
			}
		}
		return false, fmt.Sprintf("node %q conditions %+v", p.Spec.NodeName, p.Status.Conditions)
	})
	return msg
}

// events lists the events of a pod as "Type Reason Message (component)".
func (c *cluster) events(name string) []string {
	c.t.Helper()
	list, err := c.client.CoreV1().Events("default").List(c.ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, fmt.Sprintf("%s %s %s (%s)", e.Type, e.Reason, e.Message, e.Source.Component))
		}
	}
	return out
}

// waitEvent waits for an event of the pod containing want.
func (c *cluster) waitEvent(name, want string) {
	c.t.Helper()
	c.eventually("event "+want, func() (bool, string) {
		evs := c.events(name)
		for _, e := range evs {
			if strings.Contains(e, want) {
				return true, ""
			}
		}
		return false, strings.Join(evs, "; ")
	})
}
