package deployment_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

// rolloutCase is one generated rolling update.
type rolloutCase struct {
	replicas           int32
	surge, unavailable intstr.IntOrString
	images             []string // the rollouts after the first
	waitBetween        []bool   // wait for completion before the next change?
	minAvailable       int32    // replicas - resolved maxUnavailable
}

func (rc rolloutCase) String() string {
	return fmt.Sprintf("replicas=%d surge=%s unavailable=%s rollouts=%d", rc.replicas, rc.surge.String(), rc.unavailable.String(), len(rc.images))
}

// genIntOrPercent draws an int 0..3 or a percentage 0..100 in steps of 25.
func genIntOrPercent(r *rand.Rand) intstr.IntOrString {
	if r.IntN(2) == 0 {
		return intstr.FromInt32(int32(r.IntN(4)))
	}
	return intstr.FromString(strconv.Itoa(25*r.IntN(5)) + "%")
}

// genCase draws a valid case: maxSurge and maxUnavailable may not both be
// zero (validation refuses it).
func genCase(r *rand.Rand) rolloutCase {
	for {
		rc := rolloutCase{replicas: int32(1 + r.IntN(10)), surge: genIntOrPercent(r), unavailable: genIntOrPercent(r)}
		s, _ := intstr.GetScaledValueFromIntOrPercent(&rc.surge, int(rc.replicas), true)
		u, _ := intstr.GetScaledValueFromIntOrPercent(&rc.unavailable, int(rc.replicas), false)
		if zero(rc.surge) && zero(rc.unavailable) {
			continue
		}
		if s == 0 && u == 0 {
			u = 1 // the controller's fencepost
		}
		rc.minAvailable = rc.replicas - min(int32(u), rc.replicas)
		for i := range 1 + r.IntN(3) {
			rc.images = append(rc.images, fmt.Sprintf("nginx:1.%d", 28+i))
			rc.waitBetween = append(rc.waitBetween, r.IntN(2) == 0)
		}
		return rc
	}
}

// zero reports whether an int-or-percent is literally 0 or "0%", which
// validation treats alike.
func zero(v intstr.IntOrString) bool {
	return (v.Type == intstr.Int && v.IntVal == 0) || (v.Type == intstr.String && v.StrVal == "0%")
}

// TestPropertyRolloutKeepsMinimumAvailable checks, for generated rolling
// updates (sizes, maxSurge/maxUnavailable as ints and percents, one to
// three template changes, some issued mid-rollout, pods starting after
// random delays), that from the moment the Deployment is first rolled out
// until the last rollout completes, the number of available pods never
// drops below replicas - maxUnavailable. Availability is computed from a
// watch of the pods, so every intermediate state is seen.
func TestPropertyRolloutKeepsMinimumAvailable(t *testing.T) {
	seed, n := controllertest.PropertySeed(t, 20260101, 12)
	r := rand.New(rand.NewPCG(seed, seed))
	env := controllertest.Start(t, manager.Options{Controllers: deploymentControllers})
	c := env.Client
	nodesim.Start(t, c, nodesim.Options{Count: 4, Bind: true, StartDelay: func(p *corev1.Pod) time.Duration {
		// Deterministic per pod name: 0-400ms.
		h := fnv.New32a()
		h.Write([]byte(p.Name))
		return time.Duration(h.Sum32()%400) * time.Millisecond
	}})

	for i := range n {
		rc := genCase(r)
		t.Run(fmt.Sprintf("%d/%s", i, rc), func(t *testing.T) {
			t.Parallel()
			checkRollout(t, env, rc)
		})
	}
}

func checkRollout(t *testing.T, env *controllertest.Env, rc rolloutCase) {
	c := env.Client
	ns := env.Namespace("property")

	// Watch the pods; after the first rollout completes, record the
	// fewest available pods ever seen.
	var (
		mu        sync.Mutex
		measuring bool
		fewest    = int32(1 << 30)
		when      string
	)
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	observe := func(any) {
		mu.Lock()
		defer mu.Unlock()
		if !measuring {
			return
		}
		var avail int32
		var states []string
		for _, obj := range inf.GetStore().List() {
			p := obj.(*corev1.Pod)
			ready := p.DeletionTimestamp == nil && podReady(p)
			if ready {
				avail++
			}
			states = append(states, fmt.Sprintf("%s(%s ready=%v deleting=%v)", p.Name, p.Spec.Containers[0].Image, podReady(p), p.DeletionTimestamp != nil))
		}
		if avail < fewest {
			fewest, when = avail, fmt.Sprint(states)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }, DeleteFunc: observe})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("pod cache did not sync")
	}

	d := controllertest.Deployment(ns, "web", rc.replicas, rc.surge, rc.unavailable)
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, ns, "web")
	mu.Lock()
	measuring = true
	mu.Unlock()
	for i, image := range rc.images {
		setImage(t, c, ns, "web", image)
		if rc.waitBetween[i] {
			waitRolledOut(t, c, ns, "web")
		}
	}
	waitRolledOut(t, c, ns, "web")
	mu.Lock()
	defer mu.Unlock()
	if fewest < rc.minAvailable {
		t.Fatalf("available pods dropped to %d, below replicas-maxUnavailable = %d; pods then: %s", fewest, rc.minAvailable, when)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
