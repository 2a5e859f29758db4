package etcd

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the Store's Prometheus collectors. One Metrics may be shared
// by several Stores; a nil *Metrics records nothing.
type Metrics struct {
	requestDuration *prometheus.HistogramVec
}

// NewMetrics creates the storage collectors and registers them on reg (nil
// reg: not registered). If reg already holds them, the registered ones are
// reused, so building two Stores on one registry is fine.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	requestDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "etcd_request_duration_seconds",
		Help: "Latency of etcd requests by operation and resource type.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
			0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"operation", "type"})
	if reg == nil {
		return &Metrics{requestDuration: requestDuration}, nil
	}
	if err := reg.Register(requestDuration); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("register etcd metrics: %w", err)
		}
		existing, ok := already.ExistingCollector.(*prometheus.HistogramVec)
		if !ok {
			return nil, fmt.Errorf("register etcd metrics: %w", err)
		}
		requestDuration = existing
	}
	return &Metrics{requestDuration: requestDuration}, nil
}

// observe records one request on key that started at start.
func (m *Metrics) observe(operation, key string, start time.Time) {
	if m == nil {
		return
	}
	m.requestDuration.WithLabelValues(operation, resourceOf(key)).Observe(time.Since(start).Seconds())
}
