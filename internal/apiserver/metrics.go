package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API server's Prometheus series, named like upstream's.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	watchers *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out by verb, group, version, resource, subresource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds by verb, group, version, resource and subresource.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently open watches by group and resource.",
		}, []string{"group", "resource"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.watchers} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one finished request.
func (m *metrics) observe(r *http.Request, w *statusRecorder, d time.Duration) {
	verb, group, version, resource, sub := r.Method, "", "", "", ""
	if ri := w.info; ri != nil {
		verb, group, version, resource, sub = ri.Verb, ri.Group, ri.Version, ri.Resource, ri.Subresource
	}
	verb = upperVerb(verb)
	m.requests.WithLabelValues(verb, group, version, resource, sub, strconv.Itoa(w.status())).Inc()
	if verb != "WATCH" {
		m.latency.WithLabelValues(verb, group, version, resource, sub).Observe(d.Seconds())
	}
}

func upperVerb(v string) string {
	b := []byte(v)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
