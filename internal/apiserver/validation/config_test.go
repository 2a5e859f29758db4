package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
)

func TestValidateConfigMap(t *testing.T) {
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		want []string
	}{
		{name: "valid", cm: &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"app.properties": "a=b"}}},
		{
			name: "bad key",
			cm:   &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"a/b": "x"}},
			want: []string{`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		},
		{
			name: "key in data and binaryData",
			cm:   &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}},
			want: []string{`data[k]: Invalid value: "k": duplicate of key present in binaryData`},
		},
		{
			name: "too large",
			cm:   &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"big": strings.Repeat("x", 1024*1024+1)}},
			want: []string{"[]: Too long: may not be more than 1048576 bytes"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defaults.ConfigMap(tc.cm)
			checkErrors(t, ValidateConfigMap(tc.cm), tc.want)
		})
	}
}

func TestValidateConfigMapUpdate(t *testing.T) {
	yes := true
	old := &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"k": "v"}, Immutable: &yes}
	old.ResourceVersion = "1"
	cm := old.DeepCopy()
	cm.Data["k"] = "changed"
	cm.Immutable = nil
	checkErrors(t, ValidateConfigMapUpdate(cm, old), []string{
		"immutable: Forbidden: field is immutable when `immutable` is set",
		"data: Forbidden: field is immutable when `immutable` is set",
	})
}

func TestValidateSecret(t *testing.T) {
	secret := func(typ corev1.SecretType, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: meta("s"), Type: typ, StringData: data}
		defaults.Secret(s)
		return s
	}
	tests := []struct {
		name string
		s    *corev1.Secret
		want []string
	}{
		{name: "opaque with stringData", s: secret("", map[string]string{"password": "hunter2"})},
		{name: "valid dockerconfigjson", s: secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{}}`})},
		{
			name: "dockerconfigjson missing key",
			s:    secret(corev1.SecretTypeDockerConfigJson, nil),
			want: []string{"data[.dockerconfigjson]: Required value"},
		},
		{
			name: "dockerconfigjson not json",
			s:    secret(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": "{"}),
			want: []string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`},
		},
		{
			name: "tls missing key",
			s:    secret(corev1.SecretTypeTLS, map[string]string{"tls.crt": "x"}),
			want: []string{"data[tls.key]: Required value"},
		},
		{
			name: "service account token needs annotation",
			s:    secret(corev1.SecretTypeServiceAccountToken, nil),
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateSecret(tc.s), tc.want)
		})
	}
}

func TestValidateSecretUpdate(t *testing.T) {
	old := &corev1.Secret{ObjectMeta: meta("s"), Data: map[string][]byte{"k": []byte("v")}}
	defaults.Secret(old)
	old.ResourceVersion = "1"
	s := old.DeepCopy()
	s.Type = corev1.SecretTypeBasicAuth
	checkErrors(t, ValidateSecretUpdate(s, old), []string{`type: Invalid value: "kubernetes.io/basic-auth": field is immutable`, "data[username]: Required value", "data[password]: Required value"})
}

func TestValidateNamespace(t *testing.T) {
	tests := []struct {
		name string
		ns   *corev1.Namespace
		want []string
	}{
		{name: "defaulted namespace is valid", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}},
		{
			name: "name must be a DNS label",
			ns:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}},
			want: []string{`metadata.name: Invalid value: "team.a": must not contain dots`},
		},
		{
			name: "non-standard finalizer",
			ns:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}},
			want: []string{`spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defaults.Namespace(tc.ns)
			checkErrors(t, ValidateNamespace(tc.ns), tc.want)
		})
	}
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1"}}
	renamed := old.DeepCopy()
	renamed.Name = "b"
	checkErrors(t, ValidateNamespaceUpdate(renamed, old), []string{`metadata.name: Invalid value: "b": field is immutable`})
}

func TestValidateNode(t *testing.T) {
	node := func(mut func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}}
		n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}
		mut(n)
		defaults.Node(n)
		return n
	}
	tests := []struct {
		name string
		node *corev1.Node
		want []string
	}{
		{name: "valid", node: node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "fd00:1::/64"} })},
		{
			name: "bad taint effect and duplicate",
			node: node(func(n *corev1.Node) {
				n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "Never"}, {Key: "d", Effect: corev1.TaintEffectNoSchedule}, {Key: "d", Effect: corev1.TaintEffectNoSchedule}}
			}),
			want: []string{
				`metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`,
				`metadata.taints[2]: Duplicate value: v1.Taint{…`,
			},
		},
		{
			name: "namespace on a node",
			node: node(func(n *corev1.Node) { n.Namespace = "default" }),
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateNode(tc.node), tc.want)
		})
	}
	old := node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24"}; n.ResourceVersion = "1" })
	changed := old.DeepCopy()
	changed.Spec.PodCIDRs = []string{"10.244.2.0/24"}
	changed.Spec.PodCIDR = "10.244.2.0/24"
	checkErrors(t, ValidateNodeUpdate(changed, old), []string{`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`})
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	pvc := func(mut func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		p := &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}
		mut(p)
		defaults.PersistentVolumeClaim(p)
		return p
	}
	tests := []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want []string
	}{
		{name: "valid", pvc: pvc(func(*corev1.PersistentVolumeClaim) {})},
		{
			name: "no access modes, no storage",
			pvc: pvc(func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = nil
				p.Spec.Resources.Requests = nil
			}),
			want: []string{"spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidatePersistentVolumeClaim(tc.pvc), tc.want)
		})
	}

	bound := pvc(func(p *corev1.PersistentVolumeClaim) { p.ResourceVersion = "1"; p.Spec.VolumeName = "pv-1" })
	bound.Status.Phase = corev1.ClaimBound
	updates := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		want   []string
	}{
		{name: "growing a bound claim is allowed", mutate: func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}},
		{
			name: "shrinking is forbidden",
			mutate: func(p *corev1.PersistentVolumeClaim) {
				p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
			},
			want: []string{"spec.resources.requests.storage: Forbidden: field can not be less than previous value"},
		},
		{
			name: "access modes are immutable",
			mutate: func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			},
			want: []string{"spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n  changed: spec.accessModes[0]"},
		},
	}
	for _, tc := range updates {
		t.Run(tc.name, func(t *testing.T) {
			p := bound.DeepCopy()
			tc.mutate(p)
			checkErrors(t, ValidatePersistentVolumeClaimUpdate(p, bound), tc.want)
		})
	}
}

func TestValidateGenericObjectMeta(t *testing.T) {
	tests := []struct {
		name       string
		obj        metav1.Object
		namespaced bool
		want       []string
	}{
		{name: "valid namespaced", obj: &corev1.ServiceAccount{ObjectMeta: meta("builder")}, namespaced: true},
		{
			name:       "bad name and label",
			obj:        &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Builder", Namespace: "default", Labels: map[string]string{"a": "b c"}}},
			namespaced: true,
			want:       []string{`metadata.name: Invalid value: "Builder": ` + subdomainMsg, `metadata.labels: Invalid value: "b c": a valid label must be…`},
		},
		{
			name: "namespace on cluster-scoped object",
			obj:  &corev1.PersistentVolume{ObjectMeta: meta("pv")},
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateGenericObjectMeta(tc.obj, tc.namespaced), tc.want)
		})
	}
}
