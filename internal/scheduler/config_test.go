package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{name: "score weights and disabled plugins", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
parallelism: 4
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
leaderElection:
  leaderElect: false
  resourceNamespace: ops
  resourceName: sched
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled:
      - name: NodeResourcesBalancedAllocation
        weight: 5
      disabled:
      - name: ImageLocality
    multiPoint:
      disabled:
      - name: NodePorts
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`, check: func(t *testing.T, c *Config) {
			if c.Parallelism != 4 || c.InitialBackoff != 2*time.Second || c.MaxBackoff != 20*time.Second {
				t.Errorf("config = %+v", c)
			}
			if c.LeaderElect || c.LeaseNamespace != "ops" || c.LeaseName != "sched" {
				t.Errorf("leader election = %v %s/%s", c.LeaderElect, c.LeaseNamespace, c.LeaseName)
			}
			p := c.Profiles[0]
			if s := p.Plugin("NodeResourcesBalancedAllocation"); s == nil || s.Weight != 5 {
				t.Errorf("balanced = %+v", s)
			}
			if s := p.Plugin("ImageLocality"); s == nil || s.Disabled&framework.PointScore == 0 {
				t.Errorf("image locality = %+v", s)
			}
			if p.Plugin("NodePorts") != nil {
				t.Error("NodePorts not removed")
			}
			if s := p.Plugin("NodeResourcesFit"); s == nil || !strings.Contains(string(s.Args), "MostAllocated") {
				t.Errorf("fit args = %+v", s)
			}
			if err := validateProfiles(c); err != nil {
				t.Error(err)
			}
		}},
		{name: "two profiles", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: no-scoring
  percentageOfNodesToScore: 50
  plugins:
    score:
      disabled:
      - name: "*"
`, check: func(t *testing.T, c *Config) {
			if len(c.Profiles) != 2 || c.Profiles[1].SchedulerName != "no-scoring" || c.Profiles[1].PercentageOfNodesToScore != 50 {
				t.Fatalf("profiles = %+v", c.Profiles)
			}
			for _, s := range c.Profiles[1].Plugins {
				if s.Disabled&framework.PointScore == 0 {
					t.Errorf("%s still scores", s.Name)
				}
			}
		}},
		{name: "unknown field", file: "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nfoo: 1\n", wantErr: `unknown field "foo"`},
		{name: "wrong kind", file: "apiVersion: v1\nkind: ConfigMap\n", wantErr: "want apiVersion"},
		{name: "unknown plugin", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      enabled:
      - name: VolumeBinding
`, wantErr: `unknown plugin "VolumeBinding"`},
		{name: "duplicate profile", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: a
- schedulerName: a
`, wantErr: "Duplicate value"},
		{name: "bad weight", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      enabled:
      - name: ImageLocality
        weight: 1000
`, wantErr: "must be in the range"},
		{name: "unsupported lock", file: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  resourceLock: endpoints
`, wantErr: "resourceLock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(DefaultOptions(), []byte(tc.file))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestBadPluginArgsFailFast(t *testing.T) {
	c, err := ParseConfig(DefaultOptions(), []byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: InterPodAffinity
    args:
      hardPodAffinityWeight: 500
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := validateProfiles(c); err == nil || !strings.Contains(err.Error(), "hardPodAffinityWeight") {
		t.Fatalf("err = %v", err)
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct       int32
		nodes     int
		wantNodes int
	}{
		{0, 50, 50}, {0, 100, 100}, {0, 1000, 420}, {0, 5000, 500}, {0, 6000, 300}, {0, 20000, 1000}, {10, 500, 100}, {30, 1000, 300}, {100, 5000, 5000},
	}
	for _, tc := range tests {
		if got := numFeasibleNodesToFind(tc.pct, tc.nodes); got != tc.wantNodes {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tc.pct, tc.nodes, got, tc.wantNodes)
		}
	}
}
