package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// run executes cmd with args and returns its output and error.
func run(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestAgentHelp(t *testing.T) {
	out, err := run(t, agentCommand(), "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--server", "--token", "--token-file", "--data-dir", "--node-name", "--node-ip",
		"--container-runtime-endpoint", "--node-labels", "--register-with-taints", "--kube-reserved",
		"--system-reserved", "--eviction-hard", "--port"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %s", want)
		}
	}
}

func TestServerHasTheNodeFlags(t *testing.T) {
	out, err := run(t, serverCommand(), "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--node-name", "--node-labels", "--kube-reserved", "--disable-agent", "--cluster-signing-duration"} {
		if !strings.Contains(out, want) {
			t.Errorf("server help lacks %s", want)
		}
	}
	// A bad node flag stops the server before it starts anything.
	dir := t.TempDir()
	_, err = run(t, serverCommand(), "--data-dir", dir, "--node-labels", "no-equals-sign")
	if err == nil || !strings.Contains(err.Error(), "--node-labels") {
		t.Fatalf("err = %v, want a --node-labels error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("server created %d entries in its data dir before refusing its flags", len(entries))
	}
}

func TestAgentFlagErrors(t *testing.T) {
	const server = "https://127.0.0.1:1"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("not-a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no server", args: nil, wantErr: "--server is required"},
		{name: "http server", args: []string{"--server", "http://x:6443"}, wantErr: "want an https:// URL"},
		{name: "token and file", args: []string{"--server", server, "--token", "a", "--token-file", tokenFile}, wantErr: "not both"},
		{name: "missing token file", args: []string{"--server", server, "--token-file", "/nonexistent/token"}, wantErr: "--token-file"},
		{name: "malformed token file", args: []string{"--server", server, "--token-file", tokenFile}, wantErr: "malformed join token"},
		{name: "malformed token", args: []string{"--server", server, "--token", "abc"}, wantErr: "malformed join token"},
		{name: "no token no certificate", args: []string{"--server", server}, wantErr: "no join token"},
		{name: "bad node name", args: []string{"--server", server, "--node-name", "Not_A_Name"}, wantErr: "--node-name"},
		{name: "bad node ip", args: []string{"--server", server, "--node-ip", "10.0.0"}, wantErr: "--node-ip"},
		{name: "bad label", args: []string{"--server", server, "--node-labels", "a=b,=c"}, wantErr: "--node-labels"},
		{name: "bad taint effect", args: []string{"--server", server, "--register-with-taints", "k=v:Sometimes"}, wantErr: "effect"},
		{name: "taint without effect", args: []string{"--server", server, "--register-with-taints", "k=v"}, wantErr: "key=value:Effect"},
		{name: "unknown reserved resource", args: []string{"--server", server, "--kube-reserved", "gpu=1"}, wantErr: "--kube-reserved"},
		{name: "bad reserved quantity", args: []string{"--server", server, "--system-reserved", "memory=lots"}, wantErr: "--system-reserved"},
		{name: "bad eviction signal", args: []string{"--server", server, "--eviction-hard", "disk.full<1Gi"}, wantErr: "signal"},
		{name: "eviction without threshold", args: []string{"--server", server, "--eviction-hard", "memory.available=1Gi"}, wantErr: "signal<threshold"},
		{name: "bad eviction percentage", args: []string{"--server", server, "--eviction-hard", "nodefs.available<150%"}, wantErr: "percentage"},
		{name: "bad runtime endpoint", args: []string{"--server", server, "--container-runtime-endpoint", "tcp://x"}, wantErr: "unix://"},
		{name: "bad port", args: []string{"--server", server, "--port", "70000"}, wantErr: "--port"},
		{name: "zero api qps", args: []string{"--server", server, "--kube-api-qps", "0"}, wantErr: "--kube-api-qps"},
		{name: "negative api burst", args: []string{"--server", server, "--kube-api-burst", "-1"}, wantErr: "--kube-api-burst"},
		{name: "short certificate", args: []string{"--server", server, "--certificate-expiration-seconds", "60"}, wantErr: "at least 600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-dir", t.TempDir()}, tc.args...)
			_, err := run(t, agentCommand(), args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestNodeFlagsParse(t *testing.T) {
	var n nodeFlags
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	n.bind(cmd.Flags())
	if _, err := run(t, cmd, "--node-labels", "a=b,example.com/role=edge", "--register-with-taints", "dedicated=gpu:NoSchedule,spot:PreferNoSchedule",
		"--kube-reserved", "cpu=100m,memory=256Mi", "--eviction-hard", "memory.available<100Mi,nodefs.available<10%",
		"--container-runtime-endpoint", "/run/containerd/containerd.sock"); err != nil {
		t.Fatal(err)
	}
	o, err := n.options()
	if err != nil {
		t.Fatal(err)
	}
	if o.Labels["example.com/role"] != "edge" || len(o.Labels) != 2 {
		t.Errorf("labels %v", o.Labels)
	}
	if len(o.Taints) != 2 || o.Taints[0].Value != "gpu" || o.Taints[1].Key != "spot" || o.Taints[1].Effect != "PreferNoSchedule" {
		t.Errorf("taints %v", o.Taints)
	}
	if q := o.KubeReserved.Memory(); q.String() != "256Mi" {
		t.Errorf("kube reserved memory %v", q)
	}
	if o.EvictionHard["nodefs.available"] != "10%" {
		t.Errorf("eviction %v", o.EvictionHard)
	}
	if o.RuntimeEndpoint != "unix:///run/containerd/containerd.sock" || o.Port != 10250 {
		t.Errorf("endpoint %q port %d", o.RuntimeEndpoint, o.Port)
	}
	if o.KubeAPIQPS != 50 || o.KubeAPIBurst != 100 {
		t.Errorf("API client limits %v/%d, want the kubelet's 50/100", o.KubeAPIQPS, o.KubeAPIBurst)
	}
}
