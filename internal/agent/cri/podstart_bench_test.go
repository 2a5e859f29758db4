package cri_test

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
	"github.com/skiffhq/skiff/internal/agent/network"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// BenchmarkRuntimePodStart is the runtime's share of pod startup, without
// skiff's agent and API: each iteration starts a batch of 10 pods at once
// straight through CRI (sandbox on the agent's CNI network, then one busybox
// container), as `skiff bench pod-startup` does through the API. Pods stay
// running, so -benchtime 10x is the 100 pods in batches of 10.
// Reported: the batch's wall time, its slowest pod (sandbox request to
// container started), and the CPU time of containerd and everything it ran
// (shims, runc, CNI plugins) per pod.
func BenchmarkRuntimePodStart(b *testing.B) {
	const batch = 10
	n := startNode(b)
	n.importImages(b)
	bridge := fmt.Sprintf("skbrt%05x", time.Now().UnixNano()&0xfffff)
	b.Cleanup(func() { _ = exec.Command("ip", "link", "delete", bridge).Run() })
	cidr := netip.MustParsePrefix(fmt.Sprintf("10.252.%d.0/24", time.Now().UnixNano()%250))
	if _, err := network.WriteCNIConfig(n.ctd.CNIConfDir(), network.CNIConfig{PodCIDRs: []netip.Prefix{cidr},
		Bridge: bridge, IPAMDir: filepath.Join(n.dir, "ipam")}); err != nil {
		b.Fatal(err)
	}
	n.waitNetworkReady(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	meter := crinode.MeterCPU(b, containerdPid(b, n.ctd.ConfigPath()))
	var slowest []time.Duration
	var batches time.Duration
	cpu0 := meter.Usage(b)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		lat := make([]time.Duration, batch)
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for j := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				errs[j] = startPod(ctx, n, fmt.Sprintf("bench-%d-%d", i, j))
				lat[j] = time.Since(t0)
			}()
		}
		wg.Wait()
		batches += time.Since(start)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		slowest = append(slowest, slices.Max(lat))
	}
	b.StopTimer()
	cpu := meter.Usage(b) - cpu0
	slices.Sort(slowest)
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N*batch), "cpu-ms/pod")
	b.ReportMetric(float64(batches.Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(float64(slowest[len(slowest)-1].Milliseconds()), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// startPod runs a pod sandbox on the CNI network and a sleeping busybox
// container in it.
func startPod(ctx context.Context, n *node, name string) error {
	sandbox := n.sandboxConfig(name)
	sandbox.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_POD
	podID, err := n.client.RunPodSandbox(ctx, sandbox, "")
	if err != nil {
		return fmt.Errorf("RunPodSandbox %s: %w", name, err)
	}
	config := containerConfig("sleep", images.BusyboxImageRef, "sleep", "3600")
	config.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_POD
	id, err := n.client.CreateContainer(ctx, podID, config, sandbox)
	if err != nil {
		return fmt.Errorf("CreateContainer %s: %w", name, err)
	}
	if err := n.client.StartContainer(ctx, id); err != nil {
		return fmt.Errorf("StartContainer %s: %w", name, err)
	}
	return nil
}
