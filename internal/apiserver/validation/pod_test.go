package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
)

const subdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

func TestValidatePod(t *testing.T) {
	ptr := func(p corev1.ContainerRestartPolicy) *corev1.ContainerRestartPolicy { return &p }
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{name: "defaulted nginx pod is valid", pod: testPod()},
		{
			name: "missing image",
			pod:  testPod(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }),
			want: []string{"spec.containers[0].image: Required value"},
		},
		{
			name: "bad pod name",
			pod:  testPod(func(p *corev1.Pod) { p.Name = "Nginx_1" }),
			want: []string{`metadata.name: Invalid value: "Nginx_1": ` + subdomainMsg},
		},
		{
			name: "missing namespace",
			pod:  testPod(func(p *corev1.Pod) { p.Namespace = "" }),
			want: []string{"metadata.namespace: Required value"},
		},
		{
			name: "duplicate container name",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "nginx", Image: "busybox"})
			}),
			want: []string{`spec.containers[1].name: Duplicate value: "nginx"`},
		},
		{
			name: "requests above limits",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				}
			}),
			want: []string{`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`},
		},
		{
			name: "invalid restart policy",
			pod:  testPod(func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }),
			want: []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		},
		{
			name: "bad container name and port",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Name = "Web"
				p.Spec.Containers[0].Ports[0].ContainerPort = 70000
			}),
			want: []string{
				`spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist of…`,
				`spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			},
		},
		{
			name: "mount of unknown volume",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
			}),
			want: []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`},
		},
		{
			name: "volume with two sources and duplicate volume names",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{
					{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
					{Name: "b", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "b", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				}
			}),
			want: []string{
				"spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
				`spec.volumes[2].name: Duplicate value: "b"`,
			},
		},
		{
			name: "probe with two handlers",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
					ProbeHandler:   corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 2, FailureThreshold: 3,
				}
			}),
			want: []string{
				"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
				"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
			},
		},
		{
			name: "bad env var name",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B", Value: "x"}}
			}),
			want: []string{`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`},
		},
		{
			name: "sidecar init container is valid",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy:v1", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}}}}
				p.Spec.InitContainers[0].ReadinessProbe.TCPSocket.Port.IntVal = 9901
			}),
		},
		{
			name: "restartPolicy on a regular container",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			}),
			want: []string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"},
		},
		{
			name: "readiness probe on a plain init container",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}
			}),
			want: []string{"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers"},
		},
		{
			name: "invalid dns policy and toleration",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.DNSPolicy = "Cluster"
				p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "x"}}
			}),
			want: []string{
				`spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`,
				`spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when ` + "`key`" + ` is empty, which means "match all values and all keys"`,
			},
		},
		{
			name: "node affinity without terms",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
			}),
			want: []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"},
		},
		{
			name: "negative grace period",
			pod: func() *corev1.Pod {
				p := testPod()
				g := int64(-5)
				p.Spec.TerminationGracePeriodSeconds = &g
				return p
			}(),
			want: []string{"spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidatePod(tc.pod), tc.want)
		})
	}
}

func TestValidatePodUpdate(t *testing.T) {
	old := testPod()
	old.ResourceVersion = "1"
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "image change is allowed", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "adding a toleration is allowed", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}},
		{name: "setting activeDeadlineSeconds is allowed", mutate: func(p *corev1.Pod) {
			v := int64(60)
			p.Spec.ActiveDeadlineSeconds = &v
		}},
		{
			name:   "restartPolicy is immutable",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want:   []string{"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  changed: spec.restartPolicy"},
		},
		{
			name: "containers cannot be added",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b"})
			},
			want: []string{"spec.containers: Forbidden: pod updates may not add or remove containers"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			defaults.Pod(p)
			checkErrors(t, ValidatePodUpdate(p, old), tc.want)
		})
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	old := testPod(func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever })
	old.ResourceVersion = "1"
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "pod IPs may be set", mutate: func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}} }},
		{
			name:   "two IPv4 pod IPs",
			mutate: func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "10.0.0.6"}} },
			want:   []string{`status.podIPs: Invalid value: []string{"10.0.0.5", "10.0.0.6"}: may specify no more than one IP for each IP family`},
		},
		{
			name: "terminated container cannot restart under Never",
			mutate: func(p *corev1.Pod) {
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			},
			want: []string{"status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			checkErrors(t, ValidatePodStatusUpdate(p, old), tc.want)
		})
	}
}
