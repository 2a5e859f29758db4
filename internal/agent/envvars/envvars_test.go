package envvars_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/agent/envvars"
)

// memSource is an in-memory Source: objects keyed "namespace/name".
type memSource struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	services   []*corev1.Service
	err        error // returned by every call when set
	cmErr      error // returned by ConfigMap when set
}

func (s *memSource) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.cmErr != nil {
		return nil, s.cmErr
	}
	if cm, ok := s.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (s *memSource) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if s.err != nil {
		return nil, s.err
	}
	if sec, ok := s.secrets[ns+"/"+name]; ok {
		return sec, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func (s *memSource) Services(_ context.Context, ns string) ([]*corev1.Service, error) {
	if s.err != nil {
		return nil, s.err
	}
	var out []*corev1.Service
	for _, svc := range s.services {
		if svc.Namespace == ns {
			out = append(out, svc)
		}
	}
	return out, nil
}

func service(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports},
	}
}

// env builds an env list from name, value pairs.
func env(pairs ...string) []corev1.EnvVar {
	out := []corev1.EnvVar{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, corev1.EnvVar{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func val(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }

func from(name string, src corev1.EnvVarSource) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &src}
}

func cmKey(name, key string, optional bool) corev1.EnvVarSource {
	return corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
}

func secretKey(name, key string, optional bool) corev1.EnvVarSource {
	return corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
}

func field(path string) corev1.EnvVarSource {
	return corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}

func resourceField(res, divisor string) corev1.EnvVarSource {
	sel := &corev1.ResourceFieldSelector{Resource: res}
	if divisor != "" {
		sel.Divisor = resource.MustParse(divisor)
	}
	return corev1.EnvVarSource{ResourceFieldRef: sel}
}

// kubernetesVars are the variables of default/kubernetes in baseSource.
var kubernetesVars = env(
	"KUBERNETES_SERVICE_HOST", "10.96.0.1",
	"KUBERNETES_SERVICE_PORT", "443",
	"KUBERNETES_SERVICE_PORT_HTTPS", "443",
	"KUBERNETES_PORT", "tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP_PROTO", "tcp",
	"KUBERNETES_PORT_443_TCP_PORT", "443",
	"KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1",
)

func baseSource() *memSource {
	return &memSource{
		configMaps: map[string]*corev1.ConfigMap{
			"ns1/cm":  {Data: map[string]string{"color": "blue", "size": "L", "1bad": "x", "with space": "y"}},
			"ns1/cm2": {Data: map[string]string{"color": "red"}},
		},
		secrets: map[string]*corev1.Secret{
			"ns1/s": {Data: map[string][]byte{"password": []byte("hunter2"), "user": []byte("admin")}},
		},
		services: []*corev1.Service{
			service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
			service("default", "in-default", "10.96.0.9", corev1.ServicePort{Port: 80}),
			service("ns1", "my-svc", "10.96.0.5",
				corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
				corev1.ServicePort{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP}),
			service("ns1", "headless", corev1.ClusterIPNone, corev1.ServicePort{Port: 80}),
			service("ns1", "external", "", corev1.ServicePort{Port: 80}),
			service("other", "elsewhere", "10.96.0.7", corev1.ServicePort{Port: 80}),
		},
	}
}

func basePod(links bool) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-0", Namespace: "ns1", UID: "uid-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": `say "hi"`},
		},
		Spec: corev1.PodSpec{NodeName: "node-a", ServiceAccountName: "robot", EnableServiceLinks: &links},
	}
}

var baseRuntime = envvars.Runtime{
	PodIPs:  []string{"10.244.0.7", "fd00::7"},
	HostIP:  "192.168.1.10",
	HostIPs: []string{"192.168.1.10", "fd01::10"},
	NodeAllocatable: corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	},
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name         string
		links        bool // enableServiceLinks
		container    corev1.Container
		src          func(*memSource)
		wantEnv      []corev1.EnvVar // after kubernetesVars, which every case gets
		wantCommand  []string
		wantArgs     []string
		wantWarnings []string
		wantErr      string
		wantNotFound bool
	}{
		{name: "literal values in order",
			container: corev1.Container{Env: env("B", "2", "A", "1", "EMPTY", "")},
			wantEnv:   env("B", "2", "A", "1", "EMPTY", "")},
		{name: "references to earlier variables expand, later and unknown ones stay",
			container: corev1.Container{Env: []corev1.EnvVar{
				val("A", "x"), val("B", "$(A)-y"), val("C", "$(D)"), val("D", "d"), val("E", "$(NOPE) $(A)"),
			}},
			wantEnv: env("A", "x", "B", "x-y", "C", "$(D)", "D", "d", "E", "$(NOPE) x")},
		{name: "escapes",
			container: corev1.Container{Env: []corev1.EnvVar{
				val("A", "x"), val("B", "$$(A)"), val("C", "$$$(A)"), val("D", "cost: $5 and $"), val("E", "$(A"),
			}},
			wantEnv: env("A", "x", "B", "$(A)", "C", "$x", "D", "cost: $5 and $", "E", "$(A")},
		{name: "a redefined variable keeps its place and takes the later value",
			container: corev1.Container{Env: []corev1.EnvVar{val("A", "1"), val("B", "$(A)"), val("A", "2")}},
			wantEnv:   env("A", "2", "B", "1")},
		{name: "valueFrom is not expanded",
			container: corev1.Container{Env: []corev1.EnvVar{val("color", "x"), from("V", cmKey("cm", "color", false))}},
			src:       func(s *memSource) { s.configMaps["ns1/cm"].Data["color"] = "$(color)" },
			wantEnv:   env("color", "x", "V", "$(color)")},
		{name: "configMapKeyRef and secretKeyRef",
			container: corev1.Container{Env: []corev1.EnvVar{
				from("COLOR", cmKey("cm", "color", false)), from("PASS", secretKey("s", "password", false)),
				val("BOTH", "$(COLOR):$(PASS)"),
			}},
			wantEnv: env("COLOR", "blue", "PASS", "hunter2", "BOTH", "blue:hunter2")},
		{name: "missing configmap",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", cmKey("nope", "k", false))}},
			wantErr:   `configmap "nope" not found`, wantNotFound: true},
		{name: "missing configmap key",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", cmKey("cm", "nope", false))}},
			wantErr:   "couldn't find key nope in ConfigMap ns1/cm"},
		{name: "missing secret",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", secretKey("nope", "k", false))}},
			wantErr:   `secret "nope" not found`, wantNotFound: true},
		{name: "missing secret key",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", secretKey("s", "nope", false))}},
			wantErr:   "couldn't find key nope in Secret ns1/s"},
		{name: "optional refs that are absent set nothing",
			container: corev1.Container{Env: []corev1.EnvVar{
				val("A", "1"),
				from("B", cmKey("nope", "k", true)), from("C", cmKey("cm", "nope", true)),
				from("D", secretKey("nope", "k", true)), from("E", secretKey("s", "nope", true)),
				val("F", "$(B)"),
			}},
			wantEnv: env("A", "1", "F", "$(B)")},
		{name: "the source failing is an error even for optional refs",
			container: corev1.Container{Env: []corev1.EnvVar{from("B", cmKey("cm", "k", true))}},
			src:       func(s *memSource) { s.cmErr = errors.New("etcd is down") },
			wantErr:   "get configmap ns1/cm: etcd is down"},
		{name: "listing services failing is an error",
			container: corev1.Container{Env: env("A", "1")},
			src:       func(s *memSource) { s.err = errors.New("etcd is down") },
			wantErr:   "list services for environment variables: etcd is down"},
		{name: "envFrom with prefix, invalid keys skipped, env overrides",
			container: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
					{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
					{Prefix: "P_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm2"}}},
				},
				Env: []corev1.EnvVar{val("size", "XL"), val("URL", "$(DB_user)@$(color)")},
			},
			wantEnv: env("color", "blue", "size", "XL", "DB_password", "hunter2", "DB_user", "admin", "P_color", "red", "URL", "admin@blue"),
			wantWarnings: []string{
				"Keys [1bad, with space] from the EnvFrom configMap ns1/cm were skipped since they are considered invalid environment variable names.",
			}},
		{name: "a later envFrom overrides an earlier one",
			container: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm2"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
			}},
			wantEnv: env("color", "blue", "size", "L"),
			wantWarnings: []string{
				"Keys [1bad, with space] from the EnvFrom configMap ns1/cm were skipped since they are considered invalid environment variable names.",
			}},
		{name: "envFrom of a missing configmap",
			container: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}},
			}},
			wantErr: `configmap "gone" not found`, wantNotFound: true},
		{name: "envFrom of a missing secret",
			container: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}},
			}},
			wantErr: `secret "gone" not found`, wantNotFound: true},
		{name: "optional envFrom that is absent",
			container: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
				},
				Env: env("A", "1"),
			},
			wantEnv: env("A", "1")},
		{name: "fieldRef",
			container: corev1.Container{Env: []corev1.EnvVar{
				from("NAME", field("metadata.name")), from("NS", field("metadata.namespace")), from("UID", field("metadata.uid")),
				from("APP", field("metadata.labels['app']")), from("NOTE", field("metadata.annotations['note']")),
				from("MISSING", field("metadata.labels['nope']")),
				from("LABELS", field("metadata.labels")), from("ANNOTATIONS", field("metadata.annotations")),
				from("NODE", field("spec.nodeName")), from("SA", field("spec.serviceAccountName")),
				from("HOST_IP", field("status.hostIP")), from("HOST_IPS", field("status.hostIPs")),
				from("POD_IP", field("status.podIP")), from("POD_IPS", field("status.podIPs")),
			}},
			wantEnv: env("NAME", "web-0", "NS", "ns1", "UID", "uid-1", "APP", "web", "NOTE", `say "hi"`, "MISSING", "",
				"LABELS", "app=\"web\"\ntier=\"front\"", "ANNOTATIONS", `note="say \"hi\""`,
				"NODE", "node-a", "SA", "robot", "HOST_IP", "192.168.1.10", "HOST_IPS", "192.168.1.10,fd01::10",
				"POD_IP", "10.244.0.7", "POD_IPS", "10.244.0.7,fd00::7")},
		{name: "unsupported fieldRef",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", field("spec.containers"))}},
			wantErr:   "unsupported fieldPath: spec.containers"},
		{name: "resourceFieldRef with divisors, rounding up, node allocatable for unset limits",
			container: corev1.Container{
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100M")},
				},
				Env: []corev1.EnvVar{
					from("CPU_LIMIT", resourceField("limits.cpu", "")), from("CPU_LIMIT_M", resourceField("limits.cpu", "1m")),
					from("MEM_LIMIT_MI", resourceField("limits.memory", "1Mi")), from("MEM_LIMIT", resourceField("limits.memory", "")),
					from("CPU_REQ_M", resourceField("requests.cpu", "1m")), from("MEM_REQ_MI", resourceField("requests.memory", "1Mi")),
					from("EPH_LIMIT_GI", resourceField("limits.ephemeral-storage", "1Gi")),
					from("EPH_REQ", resourceField("requests.ephemeral-storage", "")),
				},
			},
			wantEnv: env("CPU_LIMIT", "1", "CPU_LIMIT_M", "250", "MEM_LIMIT_MI", "64", "MEM_LIMIT", "67108864",
				"CPU_REQ_M", "100", "MEM_REQ_MI", "96", "EPH_LIMIT_GI", "100", "EPH_REQ", "0")},
		{name: "resourceFieldRef limits default to node allocatable",
			container: corev1.Container{Env: []corev1.EnvVar{
				from("CPU", resourceField("limits.cpu", "")), from("MEM_GI", resourceField("limits.memory", "1Gi")),
			}},
			wantEnv: env("CPU", "4", "MEM_GI", "8")},
		{name: "unsupported resource",
			container: corev1.Container{Env: []corev1.EnvVar{from("X", resourceField("limits.gpu", ""))}},
			wantErr:   "unsupported container resource : limits.gpu"},
		{name: "command and args expand with the final environment",
			container: corev1.Container{
				Env:     []corev1.EnvVar{val("GREETING", "hello"), from("POD", field("metadata.name"))},
				Command: []string{"/bin/echo", "$(GREETING)"},
				Args:    []string{"$(POD)", "$$(POD)", "$(UNKNOWN)", "$(KUBERNETES_SERVICE_HOST)"},
			},
			wantEnv:     env("GREETING", "hello", "POD", "web-0"),
			wantCommand: []string{"/bin/echo", "hello"},
			wantArgs:    []string{"web-0", "$(POD)", "$(UNKNOWN)", "10.96.0.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := baseSource()
			if tc.src != nil {
				tc.src(src)
			}
			c := tc.container
			got, err := envvars.Resolve(context.Background(), src, basePod(tc.links), &c, baseRuntime)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Resolve error = %v, want %q", err, tc.wantErr)
				}
				if tc.wantNotFound != apierrors.IsNotFound(err) {
					t.Errorf("IsNotFound(%v) = %v, want %v", err, !tc.wantNotFound, tc.wantNotFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			wantEnv := append(append([]corev1.EnvVar{}, kubernetesVars...), tc.wantEnv...)
			if !reflect.DeepEqual(got.Env, wantEnv) {
				t.Errorf("Env\n got %v\nwant %v", got.Env, wantEnv)
			}
			if !reflect.DeepEqual(got.Command, tc.wantCommand) || !reflect.DeepEqual(got.Args, tc.wantArgs) {
				t.Errorf("Command, Args = %q, %q; want %q, %q", got.Command, got.Args, tc.wantCommand, tc.wantArgs)
			}
			if !reflect.DeepEqual(got.Warnings, tc.wantWarnings) {
				t.Errorf("Warnings = %q, want %q", got.Warnings, tc.wantWarnings)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// mySvcVars are the variables of ns1/my-svc in baseSource.
var mySvcVars = env(
	"MY_SVC_SERVICE_HOST", "10.96.0.5",
	"MY_SVC_SERVICE_PORT", "80",
	"MY_SVC_SERVICE_PORT_HTTP", "80",
	"MY_SVC_SERVICE_PORT_DNS_UDP", "53",
	"MY_SVC_PORT", "tcp://10.96.0.5:80",
	"MY_SVC_PORT_80_TCP", "tcp://10.96.0.5:80",
	"MY_SVC_PORT_80_TCP_PROTO", "tcp",
	"MY_SVC_PORT_80_TCP_PORT", "80",
	"MY_SVC_PORT_80_TCP_ADDR", "10.96.0.5",
	"MY_SVC_PORT_53_UDP", "udp://10.96.0.5:53",
	"MY_SVC_PORT_53_UDP_PROTO", "udp",
	"MY_SVC_PORT_53_UDP_PORT", "53",
	"MY_SVC_PORT_53_UDP_ADDR", "10.96.0.5",
)

func concat(lists ...[]corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func TestServiceLinks(t *testing.T) {
	inDefault := env(
		"IN_DEFAULT_SERVICE_HOST", "10.96.0.9", "IN_DEFAULT_SERVICE_PORT", "80",
		"IN_DEFAULT_PORT", "tcp://10.96.0.9:80", "IN_DEFAULT_PORT_80_TCP", "tcp://10.96.0.9:80",
		"IN_DEFAULT_PORT_80_TCP_PROTO", "tcp", "IN_DEFAULT_PORT_80_TCP_PORT", "80", "IN_DEFAULT_PORT_80_TCP_ADDR", "10.96.0.9",
	)
	localKubernetes := env(
		"KUBERNETES_SERVICE_HOST", "10.96.0.77", "KUBERNETES_SERVICE_PORT", "8080",
		"KUBERNETES_PORT", "tcp://10.96.0.77:8080", "KUBERNETES_PORT_8080_TCP", "tcp://10.96.0.77:8080",
		"KUBERNETES_PORT_8080_TCP_PROTO", "tcp", "KUBERNETES_PORT_8080_TCP_PORT", "8080", "KUBERNETES_PORT_8080_TCP_ADDR", "10.96.0.77",
	)
	tests := []struct {
		name      string
		namespace string
		links     *bool // nil: the default (true)
		env       []corev1.EnvVar
		src       func(*memSource)
		wantEnv   []corev1.EnvVar
	}{
		{name: "links on: the namespace's services with a cluster IP, and the API server's",
			namespace: "ns1", links: ptr(true), wantEnv: concat(kubernetesVars, mySvcVars)},
		{name: "links default to on", namespace: "ns1", links: nil, wantEnv: concat(kubernetesVars, mySvcVars)},
		{name: "links off: only the API server's", namespace: "ns1", links: ptr(false), wantEnv: kubernetesVars},
		{name: "a pod in default", namespace: "default", wantEnv: concat(inDefault, kubernetesVars)},
		{name: "a pod in default without links", namespace: "default", links: ptr(false), wantEnv: kubernetesVars},
		{name: "no API server service yet", namespace: "ns1", links: ptr(false),
			src:     func(s *memSource) { s.services = s.services[1:] },
			wantEnv: nil},
		{name: "a kubernetes service of the pod's namespace wins when links are on", namespace: "ns1",
			src: func(s *memSource) {
				s.services = append(s.services, service("ns1", "kubernetes", "10.96.0.77", corev1.ServicePort{Port: 8080}))
			},
			wantEnv: concat(localKubernetes, mySvcVars)},
		{name: "the default kubernetes service when links are off", namespace: "ns1", links: ptr(false),
			src: func(s *memSource) {
				s.services = append(s.services, service("ns1", "kubernetes", "10.96.0.77", corev1.ServicePort{Port: 8080}))
			},
			wantEnv: kubernetesVars},
		{name: "user variables override service variables and may use them", namespace: "ns1",
			env: env("MY_SVC_SERVICE_HOST", "mine", "URL", "http://$(MY_SVC_SERVICE_HOST):$(MY_SVC_SERVICE_PORT)"),
			wantEnv: concat(kubernetesVars, mySvcVars[1:],
				env("MY_SVC_SERVICE_HOST", "mine", "URL", "http://mine:80"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := baseSource()
			if tc.src != nil {
				tc.src(src)
			}
			pod := basePod(true)
			pod.Namespace = tc.namespace
			pod.Spec.EnableServiceLinks = tc.links
			got, err := envvars.Resolve(context.Background(), src, pod, &corev1.Container{Env: tc.env}, baseRuntime)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !reflect.DeepEqual(got.Env, tc.wantEnv) {
				t.Errorf("Env\n got %v\nwant %v", got.Env, tc.wantEnv)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y", "EMPTY": ""}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "x"},
		{"$(A)$(B)", "xy"},
		{"[$(EMPTY)]", "[]"},
		{"$(A)-$(A)", "x-x"},
		{"$(MISSING)", "$(MISSING)"},
		{"$()", "$()"},
		{"$$", "$"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"$$$$(A)", "$$(A)"},
		{"$(A)$$(B)", "x$(B)"},
		{"a$b", "a$b"},
		{"$", "$"},
		{"trailing$", "trailing$"},
		{"$(A)$", "x$"},
		{"$(A", "$(A"},
		{"$(A $(B)", "$(A $(B)"},
		{"$((A))", "$((A))"},
		{"($(A))", "(x)"},
	}
	for _, tc := range tests {
		if got := envvars.Expand(tc.in, lookup); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
