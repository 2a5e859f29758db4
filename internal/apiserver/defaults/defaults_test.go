package defaults

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkEqual fails with both objects as JSON when they differ semantically.
func checkEqual(t *testing.T, got, want interface{}) {
	t.Helper()
	if !apiequality.Semantic.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("defaults differ\n got: %s\nwant: %s", g, w)
	}
}

// defaultedPodSpec is what upstream stores for a one-container nginx spec.
func defaultedPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:                     "nginx",
			Image:                    "nginx:1.27",
			Ports:                    []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			ImagePullPolicy:          corev1.PullIfNotPresent,
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		SchedulerName:                 "default-scheduler",
		TerminationGracePeriodSeconds: ptrTo(int64(30)),
		SecurityContext:               &corev1.PodSecurityContext{},
	}
}

func nginxSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "nginx", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
	}}}
}

func nginxTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}}, Spec: nginxSpec()}
}

func defaultedTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}}, Spec: defaultedPodSpec()}
}

func TestPod(t *testing.T) {
	tests := []struct {
		name string
		in   func(*corev1.Pod)
		want func(*corev1.Pod)
	}{
		{
			name: "nginx pod",
			in:   func(*corev1.Pod) {},
			want: func(*corev1.Pod) {},
		},
		{
			name: "requests default to limits",
			in: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
			},
			want: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				}
			},
		},
		{
			name: "host network copies container ports to host ports",
			in:   func(p *corev1.Pod) { p.Spec.HostNetwork = true },
			want: func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.Containers[0].Ports[0].HostPort = 80
			},
		},
		{
			name: "probes, env fieldRef and lifecycle",
			in: func(p *corev1.Pod) {
				c := &p.Spec.Containers[0]
				c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}
				c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}}
				c.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
				c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
			},
			want: func(p *corev1.Pod) {
				c := &p.Spec.Containers[0]
				c.LivenessProbe = &corev1.Probe{
					ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80), Scheme: corev1.URISchemeHTTP}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
				}
				c.ReadinessProbe = &corev1.Probe{
					ProbeHandler:   corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: ptrTo("")}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
				}
				c.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}}
				c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}}}
			},
		},
		{
			name: "volume sources",
			in: func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{
					{Name: "scratch"},
					{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
					{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
					{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
					{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					}}}},
				}
			},
			want: func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{
					{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptrTo(int32(420))}}},
					{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec", DefaultMode: ptrTo(int32(420))}}},
					{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptrTo(corev1.HostPathUnset)}}},
					{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptrTo(int32(420)), Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptrTo(int64(3600))}},
					}}}},
				}
			},
		},
		{
			name: "negative grace period becomes 1, serviceAccount mirrors serviceAccountName",
			in: func(p *corev1.Pod) {
				p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(-1))
				p.Spec.DeprecatedServiceAccount = "builder"
			},
			want: func(p *corev1.Pod) {
				p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(1))
				p.Spec.ServiceAccountName = "builder"
				p.Spec.DeprecatedServiceAccount = "builder"
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: nginxSpec()}
			tc.in(got)
			want := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: defaultedPodSpec()}
			want.Spec.EnableServiceLinks = ptrTo(true)
			tc.want(want)
			Pod(got)
			checkEqual(t, got, want)
			again := got.DeepCopy()
			Pod(again)
			checkEqual(t, again, got) // idempotent
		})
	}
}

func TestImagePullPolicy(t *testing.T) {
	const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"nginx" + digest, corev1.PullIfNotPresent},
		{"nginx:latest" + digest, corev1.PullAlways},
		{"registry.local:5000/team/app", corev1.PullAlways},
		{"registry.local:5000/team/app:v2", corev1.PullIfNotPresent},
		{"ghcr.io/org/tool:latest", corev1.PullAlways},
		{"Not A Valid Image", corev1.PullIfNotPresent},
		{"", corev1.PullIfNotPresent},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			if got := pullPolicyFor(tc.image); got != tc.want {
				t.Errorf("pullPolicyFor(%q) = %s, want %s", tc.image, got, tc.want)
			}
		})
	}
}

func TestWorkloads(t *testing.T) {
	tests := []struct {
		name string
		got  func() interface{}
		want interface{}
	}{
		{
			name: "deployment",
			got: func() interface{} {
				d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: nginxTemplate()}}
				Deployment(d)
				return d
			},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
				Replicas: ptrTo(int32(1)),
				Template: defaultedTemplate(),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptrTo(intstr.FromString("25%")), MaxSurge: ptrTo(intstr.FromString("25%")),
				}},
				RevisionHistoryLimit:    ptrTo(int32(10)),
				ProgressDeadlineSeconds: ptrTo(int32(600)),
			}},
		},
		{
			name: "recreate deployment gets no rollingUpdate",
			got: func() interface{} {
				d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: nginxTemplate(), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
				Deployment(d)
				return d.Spec.Strategy
			},
			want: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		},
		{
			name: "replicaset",
			got: func() interface{} {
				rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: nginxTemplate()}}
				ReplicaSet(rs)
				return rs
			},
			want: &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo(int32(1)), Template: defaultedTemplate()}},
		},
		{
			name: "statefulset with claim template",
			got: func() interface{} {
				s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: nginxTemplate(), VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					ObjectMeta: metav1.ObjectMeta{Name: "www"},
					Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
				}}}}
				StatefulSet(s)
				return s
			},
			want: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
				Replicas:            ptrTo(int32(1)),
				Template:            defaultedTemplate(),
				PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(0))}},
				RevisionHistoryLimit: ptrTo(int32(10)),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					ObjectMeta: metav1.ObjectMeta{Name: "www"},
					Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeMode: ptrTo(corev1.PersistentVolumeFilesystem)},
					Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
				}},
			}},
		},
		{
			name: "daemonset",
			got: func() interface{} {
				d := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: nginxTemplate()}}
				DaemonSet(d)
				return d
			},
			want: &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
				Template: defaultedTemplate(),
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptrTo(intstr.FromInt32(1)), MaxSurge: ptrTo(intstr.FromInt32(0)),
				}},
				RevisionHistoryLimit: ptrTo(int32(10)),
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkEqual(t, tc.got(), tc.want)
		})
	}
}

func TestJobs(t *testing.T) {
	jobTemplate := func() corev1.PodTemplateSpec {
		tmpl := corev1.PodTemplateSpec{Spec: nginxSpec()}
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		return tmpl
	}
	defaultedJobTemplate := func() corev1.PodTemplateSpec {
		tmpl := corev1.PodTemplateSpec{Spec: defaultedPodSpec()}
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		return tmpl
	}
	tests := []struct {
		name string
		got  func() interface{}
		want interface{}
	}{
		{
			name: "job without uid",
			got: func() interface{} {
				j := &batchv1.Job{Spec: batchv1.JobSpec{Template: jobTemplate()}}
				Job(j)
				return j
			},
			want: &batchv1.Job{Spec: batchv1.JobSpec{
				Parallelism: ptrTo(int32(1)), Completions: ptrTo(int32(1)), BackoffLimit: ptrTo(int32(6)),
				CompletionMode: ptrTo(batchv1.NonIndexedCompletion), Suspend: ptrTo(false),
				PodReplacementPolicy: ptrTo(batchv1.TerminatingOrFailed),
				Template:             defaultedJobTemplate(),
			}},
		},
		{
			name: "job with uid gets generated selector",
			got: func() interface{} {
				j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u-1"}, Spec: batchv1.JobSpec{Template: jobTemplate(), Parallelism: ptrTo(int32(3))}}
				Job(j)
				return j
			},
			want: func() *batchv1.Job {
				tmpl := defaultedJobTemplate()
				tmpl.Labels = map[string]string{
					"batch.kubernetes.io/controller-uid": "u-1", "controller-uid": "u-1",
					"batch.kubernetes.io/job-name": "pi", "job-name": "pi",
				}
				return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u-1"}, Spec: batchv1.JobSpec{
					Parallelism: ptrTo(int32(3)), BackoffLimit: ptrTo(int32(6)),
					CompletionMode: ptrTo(batchv1.NonIndexedCompletion), Suspend: ptrTo(false),
					PodReplacementPolicy: ptrTo(batchv1.TerminatingOrFailed),
					Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u-1"}},
					Template:             tmpl,
				}}
			}(),
		},
		{
			name: "cronjob",
			got: func() interface{} {
				c := &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplate()}}}}
				CronJob(c)
				return c
			},
			want: &batchv1.CronJob{Spec: batchv1.CronJobSpec{
				Schedule: "* * * * *", ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptrTo(false),
				SuccessfulJobsHistoryLimit: ptrTo(int32(3)), FailedJobsHistoryLimit: ptrTo(int32(1)),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: defaultedJobTemplate()}},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkEqual(t, tc.got(), tc.want)
		})
	}
}

func TestService(t *testing.T) {
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	single := corev1.IPFamilyPolicySingleStack
	tests := []struct {
		name string
		in   corev1.ServiceSpec
		want corev1.ServiceSpec
	}{
		{
			name: "unallocated ClusterIP service",
			in:   corev1.ServiceSpec{Selector: map[string]string{"app": "nginx"}, Ports: []corev1.ServicePort{{Port: 80}}},
			want: corev1.ServiceSpec{
				Selector: map[string]string{"app": "nginx"}, Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				Ports:                 []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
				InternalTrafficPolicy: &cluster,
			},
		},
		{
			name: "allocated cluster IP sets families",
			in:   corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("https")}}},
			want: corev1.ServiceSpec{
				ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"}, IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("https")}},
			},
		},
		{
			name: "NodePort gets externalTrafficPolicy Cluster",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolUDP}}},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				Ports:                 []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(80)}},
			},
		},
		{
			name: "ClientIP affinity gets a timeout",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityClientIP},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(int32(10800))}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: tc.in}
			Service(svc)
			checkEqual(t, svc.Spec, tc.want)
		})
	}
}

func TestCoreObjects(t *testing.T) {
	tests := []struct {
		name string
		got  func() interface{}
		want interface{}
	}{
		{
			name: "secret type and stringData",
			got: func() interface{} {
				s := &corev1.Secret{Data: map[string][]byte{"a": []byte("1")}, StringData: map[string]string{"b": "2"}}
				Secret(s)
				return s
			},
			want: &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}},
		},
		{
			name: "namespace",
			got: func() interface{} {
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
				Namespace(ns)
				Namespace(ns)
				return ns
			},
			want: &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a"}},
				Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
			},
		},
		{
			name: "node allocatable from capacity",
			got: func() interface{} {
				n := &corev1.Node{Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"}, Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
				Node(n)
				return n
			},
			want: &corev1.Node{
				Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}},
				Status: corev1.NodeStatus{
					Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
					Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				},
			},
		},
		{
			name: "persistent volume claim",
			got: func() interface{} {
				p := &corev1.PersistentVolumeClaim{}
				PersistentVolumeClaim(p)
				return p
			},
			want: &corev1.PersistentVolumeClaim{
				Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: ptrTo(corev1.PersistentVolumeFilesystem)},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
			},
		},
		{
			name: "configmap is unchanged",
			got: func() interface{} {
				c := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
				ConfigMap(c)
				return c
			},
			want: &corev1.ConfigMap{Data: map[string]string{"k": "v"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkEqual(t, tc.got(), tc.want)
		})
	}
}
