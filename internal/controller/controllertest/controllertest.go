// Package controllertest runs the controller manager against a real
// in-process skiff server for integration tests, and has the polling and
// fixture helpers those tests share. Test-only.
package controllertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// Timeout bounds every wait of these tests; it is generous because -race
// on a small machine is slow, and a passing test never waits for it.
const Timeout = 60 * time.Second

// pollInterval is how often Eventually looks.
const pollInterval = 20 * time.Millisecond

// Env is a server with a controller manager running against it.
type Env struct {
	t       testing.TB
	Server  *testserver.Server
	Client  kubernetes.Interface
	Options manager.Options

	cancel context.CancelFunc
	done   chan error
}

var nsCounter atomic.Int64

// Start runs a fresh server and a controller manager with o (Workers 5 and
// quiet logs unless set). The manager stops when the test ends.
func Start(t testing.TB, o manager.Options) *Env {
	t.Helper()
	s := testserver.Start(t, nil)
	if o.Log == nil {
		o.Log = quietLogger()
	}
	e := &Env{t: t, Server: s, Client: s.Client, Options: o}
	e.StartManager()
	t.Cleanup(e.StopManager)
	return e
}

// quietLogger logs warnings and errors only, unless SKIFF_TEST_LOG is set.
func quietLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SKIFF_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// StartManager starts the controller manager.
func (e *Env) StartManager() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- manager.Run(ctx, e.Server.Config, e.Options) }()
}

// StopManager stops the controller manager and waits for it; safe to call
// twice.
func (e *Env) StopManager() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("controller manager: %v", err)
		}
	case <-time.After(Timeout):
		e.t.Errorf("controller manager did not stop within %v", Timeout)
	}
	e.cancel = nil
}

// RestartManager stops the controller manager and starts a new one.
func (e *Env) RestartManager() {
	e.StopManager()
	e.StartManager()
}

// Namespace creates a namespace with a unique name for one test.
func (e *Env) Namespace(prefix string) string {
	e.t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1))
	_, err := e.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// Eventually polls cond until it reports true (its error then does not
// matter), failing the test with what and the last error after Timeout.
// The error describes the state seen, for the failure message.
func Eventually(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	EventuallyWithin(t, Timeout, what, cond)
}

// EventuallyWithin is Eventually with another bound.
func EventuallyWithin(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(pollInterval)
	}
}

// Labels are the pod labels of the fixtures.
func Labels(app string) map[string]string { return map[string]string{"app": app} }

// PodTemplate is a one-container pod template labelled app=name.
func PodTemplate(name, image string) corev1.PodTemplateSpec {
	grace := int64(30)
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: Labels(name)},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "main", Image: image}},
			TerminationGracePeriodSeconds: &grace,
		},
	}
}

// ReplicaSet is a ReplicaSet fixture.
func ReplicaSet(ns, name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: Labels(name)},
			Template: PodTemplate(name, "nginx:1.27"),
		},
	}
}

// Deployment is a rolling-update Deployment fixture.
func Deployment(ns, name string, replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: Labels(name)},
			Template: PodTemplate(name, "nginx:1.27"),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
			},
		},
	}
}

// Pod is a bare pod fixture labelled app=app, bound to node when set.
func Pod(ns, name, app, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: Labels(app)},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}},
		},
	}
}

// Events returns "Reason: message" of the events about the object name in
// ns.
func Events(t testing.TB, c kubernetes.Interface, ns, name string) []string {
	t.Helper()
	list, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + name,
	})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []string
	for _, ev := range list.Items {
		out = append(out, ev.Reason+": "+ev.Message)
	}
	return out
}

// HasEvent reports whether events has one with reason whose message
// contains substr.
func HasEvent(events []string, reason, substr string) bool {
	for _, e := range events {
		if strings.HasPrefix(e, reason+": ") && strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

// PropertySeed is a property test's random seed and number of cases: the
// given defaults, or SKIFF_PROPERTY_SEED and SKIFF_PROPERTY_CASES when set
// (to replay or widen a run). It logs both.
func PropertySeed(t testing.TB, seed uint64, cases int) (uint64, int) {
	t.Helper()
	if v, err := strconv.ParseUint(os.Getenv("SKIFF_PROPERTY_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("SKIFF_PROPERTY_CASES")); err == nil && v > 0 {
		cases = v
	}
	t.Logf("seed %d, %d cases (SKIFF_PROPERTY_SEED / SKIFF_PROPERTY_CASES)", seed, cases)
	return seed, cases
}
