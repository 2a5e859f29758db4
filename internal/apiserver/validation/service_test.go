package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestValidateService(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want []string
	}{
		{name: "defaulted ClusterIP service is valid", svc: testService()},
		{name: "allocated cluster IP is valid", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" })},
		{name: "headless service is valid", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })},
		{name: "NodePort in range is valid", svc: testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
		})},
		{name: "ExternalName is valid", svc: testService(func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com."}
		})},
		{
			name: "name must be a DNS-1035 label",
			svc:  testService(func(s *corev1.Service) { s.Name = "Foo" }),
			want: []string{`metadata.name: Invalid value: "Foo": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		},
		{
			name: "nodePort out of range",
			svc: testService(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.Ports[0].NodePort = 80
			}),
			want: []string{"spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"},
		},
		{
			name: "nodePort on ClusterIP",
			svc:  testService(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }),
			want: []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
		},
		{
			name: "two ports need names, names must be unique",
			svc: testService(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{{Name: "web", Port: 80}, {Name: "web", Port: 443}, {Port: 8080}}
			}),
			want: []string{`spec.ports[1].name: Duplicate value: "web"`, "spec.ports[2].name: Required value"},
		},
		{
			name: "bad protocol, port and duplicate port",
			svc: testService(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80, Protocol: "HTTP"}, {Name: "b", Port: 0}}
			}),
			want: []string{
				`spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`,
				"spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
				"spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
			},
		},
		{
			name: "unknown type",
			svc:  testService(func(s *corev1.Service) { s.Spec.Type = "Internal" }),
			want: []string{`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		},
		{
			name: "no ports",
			svc:  testService(func(s *corev1.Service) { s.Spec.Ports = nil }),
			want: []string{"spec.ports: Required value"},
		},
		{
			name: "bad selector value",
			svc:  testService(func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "a b"} }),
			want: []string{`spec.selector: Invalid value: "a b": a valid label must be…`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidateService(tc.svc), tc.want)
		})
	}
}

func TestValidateServiceUpdate(t *testing.T) {
	old := testService(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" })
	old.ResourceVersion = "1"
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []string
	}{
		{name: "ports may change", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 }},
		{
			name: "clusterIP is immutable",
			mutate: func(s *corev1.Service) {
				s.Spec.ClusterIP = "10.96.0.11"
				s.Spec.ClusterIPs = []string{"10.96.0.11"}
			},
			want: []string{`spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := old.DeepCopy()
			tc.mutate(s)
			checkErrors(t, ValidateServiceUpdate(s, old), tc.want)
		})
	}
}
