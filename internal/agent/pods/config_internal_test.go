package pods

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestDNSConfig(t *testing.T) {
	hostConf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(hostConf, []byte("# host\nnameserver 192.0.2.53\nsearch example.com\noptions edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := &runtimeapi.DNSConfig{Servers: []string{"192.0.2.53"}, Searches: []string{"example.com"}, Options: []string{"edns0"}}
	cluster := &runtimeapi.DNSConfig{
		Servers:  []string{"10.96.0.10"},
		Searches: []string{"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"},
		Options:  []string{"ndots:5"},
	}
	two := "2"
	tests := []struct {
		name       string
		clusterDNS []string
		spec       corev1.PodSpec
		want       *runtimeapi.DNSConfig
	}{
		{name: "ClusterFirst", clusterDNS: []string{"10.96.0.10"}, want: cluster},
		{name: "ClusterFirst on the host network is Default", clusterDNS: []string{"10.96.0.10"},
			spec: corev1.PodSpec{HostNetwork: true}, want: host},
		{name: "ClusterFirstWithHostNet", clusterDNS: []string{"10.96.0.10"},
			spec: corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirstWithHostNet}, want: cluster},
		{name: "ClusterFirst without cluster DNS is Default", spec: corev1.PodSpec{DNSPolicy: corev1.DNSClusterFirst}, want: host},
		{name: "None takes dnsConfig only", clusterDNS: []string{"10.96.0.10"}, spec: corev1.PodSpec{
			DNSPolicy: corev1.DNSNone,
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}}},
		}, want: &runtimeapi.DNSConfig{Servers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []string{"ndots:2"}}},
		{name: "dnsConfig appends servers and overrides options", clusterDNS: []string{"10.96.0.10"}, spec: corev1.PodSpec{
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "rotate"}}},
		}, want: &runtimeapi.DNSConfig{
			Servers: []string{"10.96.0.10", "1.1.1.1"}, Searches: cluster.Searches, Options: []string{"ndots:2", "rotate"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{o: Options{ClusterDNS: tc.clusterDNS, ClusterDomain: "cluster.local", HostResolvConf: hostConf}}
			pod := &corev1.Pod{Spec: tc.spec}
			pod.Namespace = "ns"
			got, err := m.dnsConfig(pod)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.GetServers(), tc.want.GetServers()) || !reflect.DeepEqual(got.GetSearches(), tc.want.GetSearches()) ||
				!reflect.DeepEqual(got.GetOptions(), tc.want.GetOptions()) {
				t.Errorf("dnsConfig = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRegistryMatches(t *testing.T) {
	tests := []struct {
		key, image string
		want       bool
	}{
		{"https://index.docker.io/v1/", "busybox", true},
		{"docker.io", "library/busybox:1.36", true},
		{"registry.example.com:5000", "registry.example.com:5000/team/app:v1", true},
		{"registry.example.com/team", "registry.example.com/team/app", true},
		{"registry.example.com/team", "registry.example.com/other/app", false},
		{"registry.example.com", "docker.io/library/busybox", false},
		{"registry.example.com", "registry.example.com.evil.io/app", false},
	}
	for _, tc := range tests {
		if got := registryMatches(tc.key, imageRepository(tc.image)); got != tc.want {
			t.Errorf("registryMatches(%q, %q) = %v, want %v", tc.key, tc.image, got, tc.want)
		}
	}
}
