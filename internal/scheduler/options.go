package scheduler

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Options configure Run. A config file (ConfigFile) overrides the fields
// it sets.
type Options struct {
	// SchedulerName is the spec.schedulerName of the pods this scheduler
	// places when the config file defines no profiles.
	SchedulerName string
	// ConfigFile is a KubeSchedulerConfiguration-shaped YAML file
	// (kubescheduler.config.k8s.io/v1); empty means the defaults.
	ConfigFile string

	// LeaderElect runs the scheduler only while this instance holds the
	// coordination.k8s.io Lease LeaseNamespace/LeaseName.
	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election
	// (15s, 10s, 2s).
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Identity names this instance in the lease; default hostname_uuid.
	Identity string

	// Parallelism is the most goroutines filtering and scoring nodes (and
	// never more than GOMAXPROCS); loops shorter than 100µs run on one.
	Parallelism int
	// QPS and Burst limit the scheduler's API client.
	QPS   float32
	Burst int
	// Logger receives the scheduler's logs; default slog.Default().
	Logger *slog.Logger
}

// DefaultOptions are the defaults: "default-scheduler", leader election
// on kube-system/kube-scheduler, parallelism 16.
func DefaultOptions() Options {
	return Options{
		SchedulerName:  corev1.DefaultSchedulerName,
		LeaderElect:    true,
		LeaseNamespace: "kube-system",
		LeaseName:      "kube-scheduler",
		LeaseDuration:  15 * time.Second,
		RenewDeadline:  10 * time.Second,
		RetryPeriod:    2 * time.Second,
		Parallelism:    16,
		QPS:            5000,
		Burst:          10000,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SchedulerName == "" {
		o.SchedulerName = d.SchedulerName
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = d.LeaseNamespace
	}
	if o.LeaseName == "" {
		o.LeaseName = d.LeaseName
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = d.LeaseDuration
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = d.RenewDeadline
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = d.RetryPeriod
	}
	if o.Parallelism == 0 {
		o.Parallelism = d.Parallelism
	}
	if o.QPS == 0 {
		o.QPS = d.QPS
	}
	if o.Burst == 0 {
		o.Burst = d.Burst
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = fmt.Sprintf("%s_%s", host, uuid.NewUUID())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
