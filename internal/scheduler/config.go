package scheduler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
	"github.com/skiffhq/skiff/internal/scheduler/plugins"
	"github.com/skiffhq/skiff/internal/scheduler/queue"
)

// Config is the scheduler's effective configuration: Options merged with
// the config file.
type Config struct {
	Profiles       []framework.Profile
	Parallelism    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration

	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration

	QPS   float32
	Burst int
}

// The file format: the subset of KubeSchedulerConfiguration skiff reads.
// Unknown fields are refused.
type fileConfig struct {
	APIVersion               string            `json:"apiVersion"`
	Kind                     string            `json:"kind"`
	Parallelism              *int32            `json:"parallelism,omitempty"`
	PercentageOfNodesToScore *int32            `json:"percentageOfNodesToScore,omitempty"`
	PodInitialBackoffSeconds *int64            `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     *int64            `json:"podMaxBackoffSeconds,omitempty"`
	LeaderElection           *fileLeaderElect  `json:"leaderElection,omitempty"`
	ClientConnection         *fileClientConfig `json:"clientConnection,omitempty"`
	Profiles                 []fileProfile     `json:"profiles,omitempty"`
}

type fileLeaderElect struct {
	LeaderElect       *bool            `json:"leaderElect,omitempty"`
	LeaseDuration     *metav1.Duration `json:"leaseDuration,omitempty"`
	RenewDeadline     *metav1.Duration `json:"renewDeadline,omitempty"`
	RetryPeriod       *metav1.Duration `json:"retryPeriod,omitempty"`
	ResourceLock      string           `json:"resourceLock,omitempty"`
	ResourceName      string           `json:"resourceName,omitempty"`
	ResourceNamespace string           `json:"resourceNamespace,omitempty"`
}

type fileClientConfig struct {
	QPS   *float32 `json:"qps,omitempty"`
	Burst *int32   `json:"burst,omitempty"`
}

type fileProfile struct {
	SchedulerName            string             `json:"schedulerName,omitempty"`
	PercentageOfNodesToScore *int32             `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *filePlugins       `json:"plugins,omitempty"`
	PluginConfig             []filePluginConfig `json:"pluginConfig,omitempty"`
}

type filePlugins struct {
	MultiPoint filePluginSet `json:"multiPoint,omitempty"`
	QueueSort  filePluginSet `json:"queueSort,omitempty"`
	PreFilter  filePluginSet `json:"preFilter,omitempty"`
	Filter     filePluginSet `json:"filter,omitempty"`
	PostFilter filePluginSet `json:"postFilter,omitempty"`
	PreScore   filePluginSet `json:"preScore,omitempty"`
	Score      filePluginSet `json:"score,omitempty"`
	Reserve    filePluginSet `json:"reserve,omitempty"`
	Permit     filePluginSet `json:"permit,omitempty"`
	Bind       filePluginSet `json:"bind,omitempty"`
}

type filePluginSet struct {
	Enabled  []filePlugin `json:"enabled,omitempty"`
	Disabled []filePlugin `json:"disabled,omitempty"`
}

type filePlugin struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

type filePluginConfig struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

const configAPIVersion = "kubescheduler.config.k8s.io/v1"

// LoadConfig merges o with the config file o.ConfigFile, if any.
func LoadConfig(o Options) (*Config, error) {
	if o.ConfigFile == "" {
		return newConfig(o), nil
	}
	data, err := os.ReadFile(o.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("read scheduler config: %w", err)
	}
	c, err := ParseConfig(o, data)
	if err != nil {
		return nil, fmt.Errorf("scheduler config %s: %w", o.ConfigFile, err)
	}
	return c, nil
}

// ParseConfig merges o with a config file's content.
func ParseConfig(o Options, data []byte) (*Config, error) {
	c := newConfig(o)
	if err := c.apply(data); err != nil {
		return nil, err
	}
	return c, nil
}

func newConfig(o Options) *Config {
	o = o.withDefaults()
	return &Config{
		Profiles:    []framework.Profile{DefaultProfile(o.SchedulerName)},
		Parallelism: o.Parallelism, InitialBackoff: queue.DefaultInitialBackoff, MaxBackoff: queue.DefaultMaxBackoff,
		LeaderElect: o.LeaderElect, LeaseNamespace: o.LeaseNamespace, LeaseName: o.LeaseName,
		LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		QPS: o.QPS, Burst: o.Burst,
	}
}

func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (c *Config) apply(data []byte) error {
	var f fileConfig
	if err := decodeStrict(data, &f); err != nil {
		return err
	}
	if f.APIVersion != configAPIVersion || f.Kind != "KubeSchedulerConfiguration" {
		return fmt.Errorf("want apiVersion %s, kind KubeSchedulerConfiguration; got %q, %q", configAPIVersion, f.APIVersion, f.Kind)
	}
	if p := f.Parallelism; p != nil {
		if *p <= 0 {
			return fmt.Errorf("parallelism: Invalid value: %d: should be an integer value greater than zero", *p)
		}
		c.Parallelism = int(*p)
	}
	if err := c.applyBackoff(&f); err != nil {
		return err
	}
	if err := c.applyLeaderElection(f.LeaderElection); err != nil {
		return err
	}
	if cc := f.ClientConnection; cc != nil {
		if cc.QPS != nil {
			c.QPS = *cc.QPS
		}
		if cc.Burst != nil {
			c.Burst = int(*cc.Burst)
		}
	}
	global := int32(0)
	if p := f.PercentageOfNodesToScore; p != nil {
		if *p < 0 || *p > 100 {
			return fmt.Errorf("percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]", *p)
		}
		global = *p
	}
	if len(f.Profiles) == 0 {
		c.Profiles[0].PercentageOfNodesToScore = global
		return nil
	}
	return c.applyProfiles(f.Profiles, global)
}

func (c *Config) applyBackoff(f *fileConfig) error {
	if s := f.PodInitialBackoffSeconds; s != nil {
		if *s <= 0 {
			return fmt.Errorf("podInitialBackoffSeconds: Invalid value: %d: must be greater than 0", *s)
		}
		c.InitialBackoff = time.Duration(*s) * time.Second
	}
	if s := f.PodMaxBackoffSeconds; s != nil {
		if *s <= 0 {
			return fmt.Errorf("podMaxBackoffSeconds: Invalid value: %d: must be greater than 0", *s)
		}
		c.MaxBackoff = time.Duration(*s) * time.Second
	}
	if c.MaxBackoff < c.InitialBackoff {
		return fmt.Errorf("podMaxBackoffSeconds: Invalid value: must be greater than or equal to PodInitialBackoffSeconds")
	}
	return nil
}

func (c *Config) applyLeaderElection(le *fileLeaderElect) error {
	if le == nil {
		return nil
	}
	if le.ResourceLock != "" && le.ResourceLock != "leases" {
		return fmt.Errorf("leaderElection.resourceLock: Unsupported value: %q: supported values: \"leases\"", le.ResourceLock)
	}
	if le.LeaderElect != nil {
		c.LeaderElect = *le.LeaderElect
	}
	if le.ResourceName != "" {
		c.LeaseName = le.ResourceName
	}
	if le.ResourceNamespace != "" {
		c.LeaseNamespace = le.ResourceNamespace
	}
	for _, d := range []struct {
		in  *metav1.Duration
		out *time.Duration
	}{{le.LeaseDuration, &c.LeaseDuration}, {le.RenewDeadline, &c.RenewDeadline}, {le.RetryPeriod, &c.RetryPeriod}} {
		if d.in != nil {
			*d.out = d.in.Duration
		}
	}
	if c.LeaseDuration <= c.RenewDeadline || c.RenewDeadline <= c.RetryPeriod || c.RetryPeriod <= 0 {
		return fmt.Errorf("leaderElection: want leaseDuration > renewDeadline > retryPeriod > 0")
	}
	return nil
}

func (c *Config) applyProfiles(fps []fileProfile, global int32) error {
	c.Profiles = nil
	seen := map[string]bool{}
	for i, fp := range fps {
		name := fp.SchedulerName
		if name == "" {
			if len(fps) > 1 {
				return fmt.Errorf("profiles[%d].schedulerName: Required value", i)
			}
			name = corev1.DefaultSchedulerName
		}
		if seen[name] {
			return fmt.Errorf("profiles[%d].schedulerName: Duplicate value: %q", i, name)
		}
		seen[name] = true
		p, err := buildProfile(name, &fp)
		if err != nil {
			return fmt.Errorf("profiles[%d]: %w", i, err)
		}
		p.PercentageOfNodesToScore = global
		if fp.PercentageOfNodesToScore != nil {
			if v := *fp.PercentageOfNodesToScore; v < 0 || v > 100 {
				return fmt.Errorf("profiles[%d].percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]", i, v)
			}
			p.PercentageOfNodesToScore = *fp.PercentageOfNodesToScore
		}
		c.Profiles = append(c.Profiles, p)
	}
	return nil
}

// buildProfile applies a profile's plugin sets and plugin config to the
// default profile.
func buildProfile(name string, fp *fileProfile) (framework.Profile, error) {
	p := DefaultProfile(name)
	registry := plugins.NewRegistry()
	if ps := fp.Plugins; ps != nil {
		if err := checkQueueSort(ps.QueueSort); err != nil {
			return p, err
		}
		if err := applyMultiPoint(&p, ps.MultiPoint, registry); err != nil {
			return p, fmt.Errorf("plugins.multiPoint: %w", err)
		}
		for _, pt := range []struct {
			name string
			set  filePluginSet
		}{{"preFilter", ps.PreFilter}, {"filter", ps.Filter}, {"postFilter", ps.PostFilter}, {"preScore", ps.PreScore},
			{"score", ps.Score}, {"reserve", ps.Reserve}, {"permit", ps.Permit}, {"bind", ps.Bind}} {
			if err := applyPoint(&p, framework.PointNames[pt.name], pt.set, registry); err != nil {
				return p, fmt.Errorf("plugins.%s: %w", pt.name, err)
			}
		}
	}
	seen := map[string]bool{}
	for i, pc := range fp.PluginConfig {
		if seen[pc.Name] {
			return p, fmt.Errorf("pluginConfig[%d]: Duplicate value: %q", i, pc.Name)
		}
		seen[pc.Name] = true
		spec := p.Plugin(pc.Name)
		if spec == nil {
			if _, known := registry[pc.Name]; !known {
				return p, fmt.Errorf("pluginConfig[%d].name: unknown plugin %q", i, pc.Name)
			}
			continue // configured but not enabled: ignored, like upstream
		}
		spec.Args = pc.Args
	}
	return p, nil
}

func checkQueueSort(s filePluginSet) error {
	for _, e := range s.Enabled {
		if e.Name != "PrioritySort" {
			return fmt.Errorf("plugins.queueSort: only PrioritySort is supported, got %q", e.Name)
		}
	}
	return nil
}

func applyMultiPoint(p *framework.Profile, set filePluginSet, registry framework.Registry) error {
	for _, d := range set.Disabled {
		if d.Name == "*" {
			p.Plugins = nil
			continue
		}
		p.Plugins = removeSpec(p.Plugins, d.Name)
	}
	for _, e := range set.Enabled {
		if _, ok := registry[e.Name]; !ok {
			return fmt.Errorf("unknown plugin %q", e.Name)
		}
		spec := p.Plugin(e.Name)
		if spec == nil {
			p.Plugins = append(p.Plugins, framework.PluginSpec{Name: e.Name})
			spec = &p.Plugins[len(p.Plugins)-1]
		}
		spec.Disabled = 0
		if e.Weight != nil {
			if err := setWeight(spec, *e.Weight); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyPoint(p *framework.Profile, pt framework.ExtensionPoint, set filePluginSet, registry framework.Registry) error {
	for _, d := range set.Disabled {
		for i := range p.Plugins {
			if d.Name == "*" || p.Plugins[i].Name == d.Name {
				p.Plugins[i].Disabled |= pt
			}
		}
	}
	for _, e := range set.Enabled {
		if _, ok := registry[e.Name]; !ok {
			return fmt.Errorf("unknown plugin %q", e.Name)
		}
		spec := p.Plugin(e.Name)
		if spec == nil {
			p.Plugins = append(p.Plugins, framework.PluginSpec{Name: e.Name, Disabled: framework.AllPoints})
			spec = &p.Plugins[len(p.Plugins)-1]
		}
		spec.Disabled &^= pt
		if e.Weight != nil {
			if pt != framework.PointScore {
				return fmt.Errorf("%s: weight is only meaningful for score plugins", e.Name)
			}
			if err := setWeight(spec, *e.Weight); err != nil {
				return err
			}
		}
	}
	return nil
}

func setWeight(spec *framework.PluginSpec, w int32) error {
	if w < 0 || w > 100 {
		return fmt.Errorf("%s: weight: Invalid value: %d: must be in the range [0, 100]", spec.Name, w)
	}
	spec.Weight = w
	return nil
}

func removeSpec(specs []framework.PluginSpec, name string) []framework.PluginSpec {
	out := specs[:0]
	for _, s := range specs {
		if s.Name != name {
			out = append(out, s)
		}
	}
	return out
}
