package cri

import (
	"strings"
	"testing"
)

func TestConfigRendersSkiffsChoices(t *testing.T) {
	cfg := containerdConfig{
		Root:         "/data/root",
		State:        "/data/state",
		Socket:       "/data/containerd.sock",
		OptDir:       "/data/opt",
		LogLevel:     "info",
		SandboxImage: "skiff.local/pause:3.10",
		Snapshotter:  "overlayfs",
		CNIBinDir:    "/usr/lib/cni",
		CNIConfDir:   `/data/cni "quoted"\net.d`,
		Handlers: []runtimeHandler{
			{Name: "runc", Binary: "/usr/sbin/runc", Root: "/data/state/runc"},
			{Name: "crun", Binary: "/usr/bin/crun", Root: "/data/state/crun"},
		},
		DisabledPlugins: []string{"io.containerd.snapshotter.v1.zfs"},
	}
	out, err := cfg.render()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	got := string(out)
	for _, want := range []string{
		"version = 2\n",
		`root = "/data/root"`,
		`state = "/data/state"`,
		`address = "/data/containerd.sock"`,
		"restrict_oom_score_adj = true",
		`sandbox_image = "skiff.local/pause:3.10"`,
		`snapshotter = "overlayfs"`,
		`default_runtime_name = "runc"`,
		`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`,
		`BinaryName = "/usr/sbin/runc"`,
		`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun.options]`,
		`BinaryName = "/usr/bin/crun"`,
		"SystemdCgroup = false",
		`bin_dir = "/usr/lib/cni"`,
		`conf_dir = "/data/cni \"quoted\"\\net.d"`,
		`disabled_plugins = ["io.containerd.snapshotter.v1.zfs"]`,
		`tcp_address = ""`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %s\n%s", want, got)
		}
	}
}

func TestConfigRefusesBadHandlers(t *testing.T) {
	tests := []struct {
		name     string
		handlers []runtimeHandler
	}{
		{"none", nil},
		{"name breaks the table header", []runtimeHandler{{Name: "run.c", Binary: "/x"}}},
		{"empty name", []runtimeHandler{{Name: "", Binary: "/x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := (containerdConfig{Handlers: tc.handlers}).render(); err == nil {
				t.Fatal("render succeeded, want an error")
			}
		})
	}
}

func TestGRPCTarget(t *testing.T) {
	tests := []struct {
		endpoint, want string
		wantErr        bool
	}{
		{endpoint: "unix:///run/containerd/containerd.sock", want: "unix:///run/containerd/containerd.sock"},
		{endpoint: "/run/crio/crio.sock", want: "unix:///run/crio/crio.sock"},
		{endpoint: "unix://relative.sock", wantErr: true},
		{endpoint: "tcp://127.0.0.1:1234", wantErr: true},
		{endpoint: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.endpoint, func(t *testing.T) {
			got, err := grpcTarget(tc.endpoint)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("grpcTarget(%q) = %q, %v; want %q (error %v)", tc.endpoint, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
