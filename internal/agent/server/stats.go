package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/cri"
)

// Summary is /stats/summary: the shape of the kubelet's stats/v1alpha1
// Summary, with the CPU and memory fields metrics consumers read.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats is the node's usage.
type NodeStats struct {
	NodeName  string       `json:"nodeName"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// PodStats is one pod's usage, the sum of its containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  *metav1.Time     `json:"startTime,omitempty"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// ContainerStats is one container's usage.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// CPUStats is cumulative CPU time.
type CPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats is memory use.
type MemoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64     `json:"rssBytes,omitempty"`
}

// serveSummary answers /stats/summary.
func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

func (s *Server) summary(ctx context.Context) (*Summary, error) {
	stats, err := s.o.Runtime.ListContainerStats(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list container stats: %w", err)
	}
	now := metav1.Now()
	sum := &Summary{Node: NodeStats{NodeName: s.o.NodeName, StartTime: bootTime()}, Pods: []PodStats{}}
	sum.Node.CPU, sum.Node.Memory = nodeUsage(now)
	pods := map[PodReference]*PodStats{}
	for _, st := range stats {
		labels := st.GetAttributes().GetLabels()
		ref := PodReference{Name: labels[cri.LabelPodName], Namespace: labels[cri.LabelPodNamespace], UID: labels[cri.LabelPodUID]}
		if ref.Name == "" {
			continue
		}
		p := pods[ref]
		if p == nil {
			p = &PodStats{PodRef: ref, Containers: []ContainerStats{},
				CPU: &CPUStats{Time: now, UsageCoreNanoSeconds: new(uint64)}, Memory: &MemoryStats{Time: now, WorkingSetBytes: new(uint64)}}
			pods[ref] = p
		}
		c := ContainerStats{Name: labels[cri.LabelContainerName], CPU: criCPU(st.GetCpu()), Memory: criMemory(st.GetMemory())}
		if c.CPU != nil && c.CPU.UsageCoreNanoSeconds != nil {
			*p.CPU.UsageCoreNanoSeconds += *c.CPU.UsageCoreNanoSeconds
		}
		if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
			*p.Memory.WorkingSetBytes += *c.Memory.WorkingSetBytes
		}
		p.Containers = append(p.Containers, c)
	}
	for _, p := range pods {
		sort.Slice(p.Containers, func(i, j int) bool { return p.Containers[i].Name < p.Containers[j].Name })
		sum.Pods = append(sum.Pods, *p)
	}
	sort.Slice(sum.Pods, func(i, j int) bool {
		a, b := sum.Pods[i].PodRef, sum.Pods[j].PodRef
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return sum, nil
}

func criCPU(u *runtimeapi.CpuUsage) *CPUStats {
	if u == nil {
		return nil
	}
	out := &CPUStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp()))}
	if v := u.GetUsageCoreNanoSeconds(); v != nil {
		out.UsageCoreNanoSeconds = ptr(v.GetValue())
	}
	if v := u.GetUsageNanoCores(); v != nil {
		out.UsageNanoCores = ptr(v.GetValue())
	}
	return out
}

func criMemory(u *runtimeapi.MemoryUsage) *MemoryStats {
	if u == nil {
		return nil
	}
	out := &MemoryStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp()))}
	for dst, v := range map[**uint64]*runtimeapi.UInt64Value{
		&out.WorkingSetBytes: u.GetWorkingSetBytes(), &out.UsageBytes: u.GetUsageBytes(),
		&out.RSSBytes: u.GetRssBytes(), &out.AvailableBytes: u.GetAvailableBytes(),
	} {
		if v != nil {
			*dst = ptr(v.GetValue())
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// nodeUsage reads the node's CPU time (/proc/stat) and memory
// (/proc/meminfo: working set is total minus available).
func nodeUsage(now metav1.Time) (*CPUStats, *MemoryStats) {
	var cpu *CPUStats
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		fields := strings.Fields(line)
		if len(fields) > 8 && fields[0] == "cpu" {
			var ticks uint64
			// user nice system (idle iowait) irq softirq steal
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				n, _ := strconv.ParseUint(fields[i], 10, 64)
				ticks += n
			}
			const nanosPerTick = uint64(time.Second / 100) // USER_HZ
			cpu = &CPUStats{Time: now, UsageCoreNanoSeconds: ptr(ticks * nanosPerTick)}
		}
	}
	info := meminfo()
	total, okT := info["MemTotal"]
	avail, okA := info["MemAvailable"]
	if !okT || !okA {
		return cpu, nil
	}
	return cpu, &MemoryStats{Time: now, AvailableBytes: ptr(avail), UsageBytes: ptr(total - info["MemFree"]),
		WorkingSetBytes: ptr(total - avail)}
}

// meminfo reads /proc/meminfo in bytes.
func meminfo() map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 2 && fields[2] == "kB" {
			n *= 1024
		}
		out[strings.TrimSuffix(fields[0], ":")] = n
	}
	return out
}

// bootTime is when the machine booted (/proc/stat btime).
func bootTime() metav1.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return metav1.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return metav1.NewTime(time.Unix(n, 0))
			}
		}
	}
	return metav1.Time{}
}

// serveCadvisor answers /metrics/cadvisor with cAdvisor's container CPU and
// working-set metrics for every container and the node root ("/").
func (s *Server) serveCadvisor(w http.ResponseWriter, r *http.Request) {
	stats, err := s.o.Runtime.ListContainerStats(r.Context(), nil)
	if err != nil {
		writeError(w, fmt.Errorf("list container stats: %w", err))
		return
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(newCadvisorCollector(stats)); err != nil {
		writeError(w, err)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// cadvisorCollector turns one ListContainerStats answer into metrics.
type cadvisorCollector struct {
	stats        []*runtimeapi.ContainerStats
	cpuDesc, mem *prometheus.Desc
}

func newCadvisorCollector(stats []*runtimeapi.ContainerStats) cadvisorCollector {
	labels := []string{"container", "id", "image", "name", "namespace", "pod"}
	return cadvisorCollector{stats: stats,
		cpuDesc: prometheus.NewDesc("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels, nil),
		mem:     prometheus.NewDesc("container_memory_working_set_bytes", "Current working set in bytes.", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c cadvisorCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.cpuDesc; ch <- c.mem }

// Collect implements prometheus.Collector.
func (c cadvisorCollector) Collect(ch chan<- prometheus.Metric) {
	now := metav1.Now()
	cpu, mem := nodeUsage(now)
	if cpu != nil {
		ch <- prometheus.MustNewConstMetric(c.cpuDesc, prometheus.CounterValue, float64(*cpu.UsageCoreNanoSeconds)/1e9, "", "/", "", "", "", "")
	}
	if mem != nil {
		ch <- prometheus.MustNewConstMetric(c.mem, prometheus.GaugeValue, float64(*mem.WorkingSetBytes), "", "/", "", "", "", "")
	}
	for _, st := range c.stats {
		attrs := st.GetAttributes()
		l := attrs.GetLabels()
		labels := []string{l[cri.LabelContainerName], "/" + attrs.GetId(), "", attrs.GetId(), l[cri.LabelPodNamespace], l[cri.LabelPodName]}
		if v := st.GetCpu().GetUsageCoreNanoSeconds(); v != nil {
			m := prometheus.MustNewConstMetric(c.cpuDesc, prometheus.CounterValue, float64(v.GetValue())/1e9, labels...)
			ch <- prometheus.NewMetricWithTimestamp(time.Unix(0, st.GetCpu().GetTimestamp()), m)
		}
		if v := st.GetMemory().GetWorkingSetBytes(); v != nil {
			m := prometheus.MustNewConstMetric(c.mem, prometheus.GaugeValue, float64(v.GetValue()), labels...)
			ch <- prometheus.NewMetricWithTimestamp(time.Unix(0, st.GetMemory().GetTimestamp()), m)
		}
	}
}
