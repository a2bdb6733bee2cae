package httpapi

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the Prometheus registry of one server process.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics returns a registry with request, Go runtime and process metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "widgetapi_http_requests_total",
			Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "widgetapi_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "widgetapi_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RegisterDBPool exports the statistics of a connection pool under name.
func (m *Metrics) RegisterDBPool(name string, db *sql.DB) error {
	return m.reg.Register(collectors.NewDBStatsCollector(db, name))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one request. Its labels take a bounded set of values
// whatever the client sends: routes are patterns or "unmatched", and any
// method or status outside the standard ones is "other", so that a client
// cannot grow the registry (and /metrics) one new label value at a time.
func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	method = metricMethod(method)
	m.requests.WithLabelValues(method, route, metricStatus(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

func metricStatus(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}
