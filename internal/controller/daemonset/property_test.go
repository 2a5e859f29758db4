package daemonset_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/manager"
	"github.com/skiffhq/skiff/test/nodesim"
)

// propertyNodes is the cluster size of the property test.
const propertyNodes = 5

// rollCase is one generated rolling update.
type rollCase struct {
	surge, unavailable intstr.IntOrString
	// minAvailable is how many nodes must keep an available pod.
	minAvailable int
	images       []string
	// waitBetween[i] waits for the rollout to finish before image i+1.
	waitBetween []bool
}

func (rc rollCase) String() string {
	return fmt.Sprintf("surge=%s,unavailable=%s,updates=%d", rc.surge.String(), rc.unavailable.String(), len(rc.images))
}

func genRollCase(r *rand.Rand) rollCase {
	rc := rollCase{surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(1)}
	switch r.IntN(3) {
	case 0:
		rc.unavailable = intstr.FromInt32(int32(1 + r.IntN(3)))
	case 1:
		rc.unavailable = intstr.FromString(fmt.Sprintf("%d%%", 20+20*r.IntN(3)))
	default:
		rc.surge, rc.unavailable = intstr.FromInt32(int32(1+r.IntN(2))), intstr.FromInt32(0)
	}
	maxUnavailable, _ := intstr.GetScaledValueFromIntOrPercent(&rc.unavailable, propertyNodes, true)
	rc.minAvailable = propertyNodes - maxUnavailable
	for i := range 1 + r.IntN(3) {
		rc.images = append(rc.images, fmt.Sprintf("fluentd:%d", 2+i))
		rc.waitBetween = append(rc.waitBetween, r.IntN(2) == 0)
	}
	return rc
}

// TestPropertyRollingUpdateKeepsAvailability checks, for generated
// rolling updates (maxUnavailable as ints and percents, or maxSurge with
// maxUnavailable 0; one to three template changes, some issued
// mid-rollout; pods starting after varying delays), that from the first
// completed rollout until the last one completes the number of nodes with
// an available daemon pod never drops below desired - maxUnavailable. The
// count comes from a watch of the pods, so every intermediate state is
// seen.
func TestPropertyRollingUpdateKeepsAvailability(t *testing.T) {
	seed, n := controllertest.PropertySeed(t, 20261122, 6)
	r := rand.New(rand.NewPCG(seed, seed))
	env := start(t, manager.Options{})
	nodesim.Start(t, env.Client, nodesim.Options{Count: propertyNodes, Prefix: "p", StartDelay: slowStart})
	for i := range n {
		rc := genRollCase(r)
		t.Run(fmt.Sprintf("%d/%s", i, rc), func(t *testing.T) {
			t.Parallel()
			checkRoll(t, env, rc)
		})
	}
}

func checkRoll(t *testing.T, env *controllertest.Env, rc rollCase) {
	c := env.Client
	ns := env.Namespace("ds-property")
	var (
		mu        sync.Mutex
		measuring bool
		fewest    = propertyNodes
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
		availableOn := map[string]bool{}
		var states []string
		for _, obj := range inf.GetStore().List() {
			p := obj.(*corev1.Pod)
			ok := p.DeletionTimestamp == nil && ready(p)
			if ok {
				availableOn[p.Spec.NodeName] = true
			}
			states = append(states, fmt.Sprintf("%s@%s(%s ready=%v deleting=%v)", p.Name, p.Spec.NodeName, p.Spec.Containers[0].Image, ready(p), p.DeletionTimestamp != nil))
		}
		if len(availableOn) < fewest {
			fewest, when = len(availableOn), fmt.Sprint(states)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }, DeleteFunc: observe})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("pod cache did not sync")
	}

	ds := daemonSet(ns, "agent")
	ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = &rc.surge
	ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &rc.unavailable
	if _, err := c.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, ns, "agent", all(propertyNodes))
	mu.Lock()
	measuring = true
	mu.Unlock()
	for i, image := range rc.images {
		setImage(t, c, ns, "agent", image)
		if rc.waitBetween[i] {
			waitStatus(t, c, ns, "agent", all(propertyNodes))
		}
	}
	waitStatus(t, c, ns, "agent", all(propertyNodes))
	imagesAre(t, livePods(t, c, ns), rc.images[len(rc.images)-1], propertyNodes)
	mu.Lock()
	defer mu.Unlock()
	if fewest < rc.minAvailable {
		t.Fatalf("nodes with an available pod dropped to %d, below desired-maxUnavailable = %d; pods then: %s", fewest, rc.minAvailable, when)
	}
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
