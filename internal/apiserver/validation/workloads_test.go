package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
)

func TestValidateDeployment(t *testing.T) {
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want []string
	}{
		{name: "defaulted nginx deployment is valid", d: testDeployment()},
		{
			name: "selector does not match template labels",
			d:    testDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "other"} }),
			want: []string{"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"},
		},
		{
			name: "restartPolicy Never in template",
			d:    testDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }),
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		},
		{
			name: "missing image in template",
			d:    testDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }),
			want: []string{"spec.template.spec.containers[0].image: Required value"},
		},
		{
			name: "missing selector",
			d:    testDeployment(func(d *appsv1.Deployment) { d.Spec.Selector = nil }),
			want: []string{"spec.selector: Required value"},
		},
		{
			name: "negative replicas",
			d: testDeployment(func(d *appsv1.Deployment) {
				r := int32(-1)
				d.Spec.Replicas = &r
			}),
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "maxSurge and maxUnavailable both zero",
			d: testDeployment(func(d *appsv1.Deployment) {
				zero := intstr.FromInt32(0)
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
			}),
			want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"},
		},
		{
			name: "progress deadline not above minReadySeconds",
			d: testDeployment(func(d *appsv1.Deployment) {
				d.Spec.MinReadySeconds = 600
			}),
			want: []string{"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"},
		},
		{
			name: "rollingUpdate with Recreate",
			d: testDeployment(func(d *appsv1.Deployment) {
				d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
			}),
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateDeployment(tc.d), tc.want)
		})
	}
}

func TestValidateDeploymentUpdate(t *testing.T) {
	old := testDeployment()
	old.ResourceVersion = "1"
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []string
	}{
		{name: "scaling and image change are allowed", mutate: func(d *appsv1.Deployment) {
			r := int32(5)
			d.Spec.Replicas = &r
			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}},
		{
			name: "selector is immutable",
			mutate: func(d *appsv1.Deployment) {
				d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx", "tier": "web"}}
				d.Spec.Template.Labels["tier"] = "web"
			},
			want: []string{"spec.selector: Invalid value: v1.LabelSelector{…"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := old.DeepCopy()
			tc.mutate(d)
			checkErrors(t, ValidateDeploymentUpdate(d, old), tc.want)
		})
	}
}

func TestValidateReplicaSet(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: meta("nginx-5d"), Spec: appsv1.ReplicaSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
		Template: nginxTemplate(),
	}}
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		want   []string
	}{
		{name: "valid", mutate: func(*appsv1.ReplicaSet) {}},
		{
			name:   "empty selector",
			mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value: v1.LabelSelector{…"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.DeepCopy()
			tc.mutate(r)
			defaults.ReplicaSet(r)
			checkErrors(t, ValidateReplicaSet(r), tc.want)
		})
	}
}

func TestValidateStatefulSet(t *testing.T) {
	tests := []struct {
		name string
		sts  *appsv1.StatefulSet
		want []string
	}{
		{name: "defaulted statefulset with volumeClaimTemplates is valid", sts: testStatefulSet()},
		{
			name: "name must be a DNS label",
			sts:  testStatefulSet(func(s *appsv1.StatefulSet) { s.Name = "web.v1" }),
			want: []string{`metadata.name: Invalid value: "web.v1": must not contain dots`},
		},
		{
			name: "restartPolicy OnFailure",
			sts:  testStatefulSet(func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }),
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},
		},
		{
			name: "bad pod management policy",
			sts:  testStatefulSet(func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" }),
			want: []string{`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateStatefulSet(tc.sts), tc.want)
		})
	}
}

func TestValidateStatefulSetUpdate(t *testing.T) {
	old := testStatefulSet()
	old.ResourceVersion = "1"
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []string
	}{
		{name: "replicas and template may change", mutate: func(s *appsv1.StatefulSet) {
			r := int32(3)
			s.Spec.Replicas = &r
			s.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}},
		{
			name:   "serviceName is immutable",
			mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" },
			want:   []string{"spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := old.DeepCopy()
			tc.mutate(s)
			checkErrors(t, ValidateStatefulSetUpdate(s, old), tc.want)
		})
	}
}

func TestValidateDaemonSet(t *testing.T) {
	tests := []struct {
		name string
		ds   *appsv1.DaemonSet
		want []string
	}{
		{name: "defaulted daemonset is valid", ds: testDaemonSet()},
		{
			name: "surge and unavailable both set",
			ds: testDaemonSet(func(d *appsv1.DaemonSet) {
				one := intstr.FromInt32(1)
				d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &one}}
			}),
			want: []string{"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero"},
		},
		{
			name: "selector mismatch",
			ds:   testDaemonSet(func(d *appsv1.DaemonSet) { d.Spec.Selector.MatchLabels = map[string]string{"app": "x"} }),
			want: []string{"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"nginx\"}: `selector` does not match template `labels`"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateDaemonSet(tc.ds), tc.want)
		})
	}
}

func TestValidateDaemonSetUpdate(t *testing.T) {
	old := testDaemonSet()
	old.ResourceVersion = "1"
	d := old.DeepCopy()
	d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	checkErrors(t, ValidateDaemonSetUpdate(d, old), nil)
}
