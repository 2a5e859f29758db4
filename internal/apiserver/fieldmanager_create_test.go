package apiserver

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
)

// newFieldManagerServer is a server with the built-in resources and no
// storage: enough to track field ownership.
func newFieldManagerServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(Config{Scheme: NewScheme(), Resources: BuiltinResources(core.Deps{})})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handlerFor returns the handler of gvr.
func handlerFor(t testing.TB, s *Server, gvr schema.GroupVersionResource) *resourceHandler {
	t.Helper()
	h := s.handlers[gvr]
	if h == nil {
		t.Fatalf("no handler for %s", gvr)
	}
	return h
}

// createRequest is a create request by manager, named through the
// fieldManager parameter (or, with ua set, the User-Agent).
func createRequest(manager, ua string) *http.Request {
	target := "/api/v1/namespaces/default/pods"
	if manager != "" {
		target += "?fieldManager=" + url.QueryEscape(manager)
	}
	r := httptest.NewRequest(http.MethodPost, target, nil)
	r.Header.Set("User-Agent", ua)
	return r
}

// trackBoth records obj's creation through trackUpdate (the fast path
// where it applies) and through the upstream field manager alone, and
// reports whether the fast path took it.
func trackBoth(t *testing.T, s *Server, h *resourceHandler, obj runtime.Object, r *http.Request) (got, want runtime.Object, fast bool) {
	t.Helper()
	fm, err := s.fieldManagers.get(s, h, "")
	if err != nil || fm == nil {
		t.Fatalf("field manager of %s: %v", h.res.GVR, err)
	}
	manager, err := managerName(r, false)
	if err != nil {
		t.Fatal(err)
	}
	want = fm.UpdateNoErrors(h.res.New(), obj.DeepCopyObject(), manager)
	if got, err = s.trackUpdate(r, h, "", nil, obj.DeepCopyObject()); err != nil {
		t.Fatal(err)
	}
	ct := s.fieldManagers.createTracker(s, h)
	fast = ct != nil && ct.track(obj.DeepCopyObject(), manager)
	return got, want, fast
}

// encodeWithoutTimes is obj as JSON with its managedFields' times cleared,
// after checking every entry has one.
func encodeWithoutTimes(t *testing.T, obj runtime.Object) []byte {
	t.Helper()
	obj = obj.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	entries := m.GetManagedFields()
	for i := range entries {
		if entries[i].Time == nil {
			t.Errorf("managedFields[%d] has no time", i)
		} else if entries[i].Time.Location() != time.UTC {
			t.Errorf("managedFields[%d].time %v is not UTC", i, entries[i].Time)
		}
		entries[i].Time = nil
	}
	m.SetManagedFields(entries)
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateFieldTrackingMatchesUpstream(t *testing.T) {
	s := newFieldManagerServer(t)
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	tests := []struct {
		name     string
		gvr      schema.GroupVersionResource
		obj      runtime.Object
		manager  string
		ua       string
		wantFast bool
		// wantEntry says the result has a managedFields entry.
		wantEntry bool
	}{
		{name: "pod with many fields", gvr: pods, obj: fullPod(), manager: "kubectl-create", wantFast: true, wantEntry: true},
		{name: "pod with status (reset)", gvr: pods, obj: withStatus(fullPod()), manager: "m", wantFast: true, wantEntry: true},
		{name: "pod with the last-applied annotation", gvr: pods, obj: lastApplied(fullPod()), manager: "kubectl-client-side-apply", wantFast: true, wantEntry: true},
		{name: "pod with duplicate env and ports", gvr: pods, obj: duplicates(fullPod()), manager: "m", wantFast: true, wantEntry: true},
		{name: "pod named by user agent", gvr: pods, obj: fullPod(), ua: "kube-scheduler/v1.32.0 (linux/amd64)", wantFast: true, wantEntry: true},
		{name: "pod with no manager name", gvr: pods, obj: fullPod(), wantFast: true, wantEntry: true},
		{name: "pod with an empty spec", gvr: pods, obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "default"}}, manager: "m", wantFast: true},
		{name: "pod with an empty container list", gvr: pods, obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "e"}, Spec: corev1.PodSpec{Containers: []corev1.Container{}}}, manager: "m", wantFast: true, wantEntry: true},
		{name: "pod with empty managedFields", gvr: pods, obj: withManagedFields(fullPod(), []metav1.ManagedFieldsEntry{}), manager: "m", wantFast: true, wantEntry: true},
		{name: "deployment", gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, obj: deployment(), manager: "m", wantFast: true, wantEntry: true},
		{name: "service", gvr: schema.GroupVersionResource{Version: "v1", Resource: "services"}, obj: service(), manager: "m", wantFast: true, wantEntry: true},
		{name: "configmap", gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, obj: configMap(), manager: "m", wantFast: true, wantEntry: true},
		{name: "node with status", gvr: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, obj: node(), manager: "m", wantFast: true, wantEntry: true},
		// The upstream path: what it does with these is its own business.
		{name: "pod carrying managedFields", gvr: pods, obj: withManagedFields(fullPod(), []metav1.ManagedFieldsEntry{{
			Manager: "other", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsType: "FieldsV1",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{"f:app":{}}}}`)}}}), manager: "m", wantEntry: true},
		{name: "pod carrying a reset entry", gvr: pods, obj: withManagedFields(fullPod(), []metav1.ManagedFieldsEntry{{}}), manager: "m", wantEntry: true},
		{name: "pod carrying undecodable managedFields", gvr: pods, obj: withManagedFields(fullPod(), []metav1.ManagedFieldsEntry{{Manager: "x"}}), manager: "m", wantEntry: true},
		{name: "manager with invalid UTF-8", gvr: pods, obj: fullPod(), ua: "caf\xe9-client/1.0", wantEntry: true},
		{name: "pod with an unnamed container", gvr: pods, obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "k"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "busybox"}}}}, manager: "m", wantFast: true, wantEntry: true},
		{name: "list item without its key", gvr: schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"},
			obj: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa"}, Secrets: []corev1.ObjectReference{{Namespace: "x"}}}, manager: "m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := handlerFor(t, s, tc.gvr)
			got, want, fast := trackBoth(t, s, h, tc.obj, createRequest(tc.manager, tc.ua))
			if fast != tc.wantFast {
				t.Errorf("fast path taken = %v, want %v", fast, tc.wantFast)
			}
			if g, w := encodeWithoutTimes(t, got), encodeWithoutTimes(t, want); !bytes.Equal(g, w) {
				t.Errorf("managed fields differ from upstream:\n got %s\nwant %s", g, w)
			}
			m, _ := meta.Accessor(got)
			if hasEntry := len(m.GetManagedFields()) > 0; hasEntry != tc.wantEntry {
				t.Errorf("managedFields = %+v, want an entry: %v", m.GetManagedFields(), tc.wantEntry)
			}
		})
	}
}

// TestCreateFieldTrackingMatchesUpstreamFuzzed compares the fast path with
// upstream on randomly filled objects of every built-in resource.
func TestCreateFieldTrackingMatchesUpstreamFuzzed(t *testing.T) {
	s := newFieldManagerServer(t)
	codecs := serializer.NewCodecFactory(s.cfg.Scheme)
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(4), codecs).NilChance(0.3).NumElements(0, 3).MaxDepth(12)
	const perResource = 15
	fastSeen := 0
	for _, r := range s.cfg.Resources {
		h := s.handlers[r.GVR]
		if fm, err := s.fieldManagers.get(s, h, ""); err != nil || fm == nil {
			continue
		}
		for i := 0; i < perResource; i++ {
			obj, ok := fuzzedObject(f.Fuzz, h)
			if !ok {
				continue
			}
			got, want, fast := trackBoth(t, s, h, obj, createRequest("fuzz", ""))
			if fast {
				fastSeen++
			}
			if g, w := encodeWithoutTimes(t, got), encodeWithoutTimes(t, want); !bytes.Equal(g, w) {
				t.Errorf("%s #%d: managed fields differ from upstream:\n got %s\nwant %s", r.GVR, i, g, w)
			}
		}
	}
	if fastSeen == 0 {
		t.Fatal("no fuzzed object took the fast path")
	}
	t.Logf("%d fuzzed objects took the fast path", fastSeen)
}

// fuzzedObject is a randomly filled object of h's resource without
// managedFields, as it comes off the wire (objects that do not survive a
// JSON round trip are not ones a request can carry).
func fuzzedObject(fill func(any), h *resourceHandler) (runtime.Object, bool) {
	obj := h.res.New()
	fill(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, false
	}
	obj = h.res.New()
	if err := json.Unmarshal(b, obj); err != nil {
		return nil, false
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, false
	}
	m.SetManagedFields(nil)
	return obj, true
}

// BenchmarkCreateFieldTracking measures field tracking for a typical pod
// create, through the upstream field manager alone and through trackUpdate.
func BenchmarkCreateFieldTracking(b *testing.B) {
	s := newFieldManagerServer(b)
	h := handlerFor(b, s, schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	fm, err := s.fieldManagers.get(s, h, "")
	if err != nil {
		b.Fatal(err)
	}
	pod := benchPod()
	r := createRequest("", "skiff-bench/v1.32.0")
	b.Run("upstream", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			pod.ManagedFields = nil
			fm.UpdateNoErrors(h.res.New(), pod, "skiff-bench")
		}
	})
	b.Run("trackUpdate", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			pod.ManagedFields = nil
			if _, err := s.trackUpdate(r, h, "", nil, pod); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPod is a pod like the scheduler benchmark creates: one container
// with requests, labels, a priority, a toleration.
func benchPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-1234", Namespace: "bench", Labels: map[string]string{"app": "bench", "group": "g7"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "c", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: "default-scheduler",
			TerminationGracePeriodSeconds: ptrTo[int64](30), EnableServiceLinks: ptrTo(true),
			SecurityContext: &corev1.PodSecurityContext{}, PreemptionPolicy: ptrTo(corev1.PreemptLowerPriority), Priority: ptrTo[int32](0),
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo[int64](300)}},
		},
	}
}

// fullPod sets a wide spread of pod fields.
func fullPod() *corev1.Pod {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-0", Namespace: "default", GenerateName: "web-",
			Labels:      map[string]string{"app": "web", "tier": "a"},
			Annotations: map[string]string{"note": "x", "empty": ""},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc",
				UID: "1234", Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}},
			Finalizers: []string{"example.com/f"},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"sh", "-c", "true"}}},
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx", Args: []string{"-g", "daemon off;"}, WorkingDir: "/srv",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 53, Protocol: corev1.ProtocolUDP}},
				Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true}},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, PeriodSeconds: 5},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}},
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptrTo(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}, {Name: "sidecar", Image: "busybox", Stdin: true, TTY: true}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "k", Path: "p"}}}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			},
			NodeSelector: map[string]string{"disk": "ssd"},
			Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"z1", "z2"}}}}}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 10, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: sel, TopologyKey: "kubernetes.io/hostname"}}}},
			},
			Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule},
				{Operator: corev1.TolerationOpExists}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel, MinDomains: ptrTo[int32](2)}},
			PriorityClassName: "high", Priority: ptrTo[int32](1000), HostNetwork: false,
			DNSConfig:        &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptrTo("2")}}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "reg"}},
		},
	}
}

func withStatus(p *corev1.Pod) *corev1.Pod {
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	return p
}

func lastApplied(p *corev1.Pod) *corev1.Pod {
	p.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = `{"apiVersion":"v1","kind":"Pod"}`
	return p
}

func duplicates(p *corev1.Pod) *corev1.Pod {
	c := &p.Spec.Containers[0]
	c.Env = append(c.Env, corev1.EnvVar{Name: "A", Value: "2"})
	c.Ports = append(c.Ports, c.Ports[0])
	return p
}

func withManagedFields(p *corev1.Pod, entries []metav1.ManagedFieldsEntry) *corev1.Pod {
	p.ManagedFields = entries
	return p
}

func deployment() *appsv1.Deployment {
	p := fullPod()
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptrTo(intstr.FromString("25%"))}},
		},
		Status: appsv1.DeploymentStatus{Replicas: 3},
	}
}

func service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}},
			Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
}

func configMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: map[string]string{"a": "b"}},
		Data:       map[string]string{"k": "v", "empty": ""},
		BinaryData: map[string][]byte{"bin": {0, 1, 2}},
	}
}

func node() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"kubernetes.io/hostname": "n1"}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.1.0.0/24", Taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
		},
	}
}
