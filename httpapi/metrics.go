package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"widgetapi/internal/dbstats"
)

// Metrics holds the Prometheus registry of one server process.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// series holds the metrics of each seriesKey seen, for observe.
	series sync.Map
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

// Register exports the metrics of cs, a component's own (the mail sender's).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// RegisterPools exports the statistics of every connection pool that pools
// describes, each time the metrics are scraped.
func (m *Metrics) RegisterPools(pools func() []dbstats.Pool) error {
	return m.reg.Register(poolCollector(pools))
}

// poolCollector turns pool snapshots into metrics labelled by pool.
type poolCollector func() []dbstats.Pool

var (
	poolMaxDesc = prometheus.NewDesc("widgetapi_db_connections_max",
		"The most connections the pool may hold.", []string{"pool"}, nil)
	poolConnsDesc = prometheus.NewDesc("widgetapi_db_connections",
		"Connections of the pool, in use or idle.", []string{"pool", "state"}, nil)
	poolWaitsDesc = prometheus.NewDesc("widgetapi_db_wait_total",
		"Acquisitions that found no free connection.", []string{"pool"}, nil)
	poolWaitTimeDesc = prometheus.NewDesc("widgetapi_db_wait_seconds_total",
		"Time spent waiting for a free connection.", []string{"pool"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolConnsDesc, poolWaitsDesc, poolWaitTimeDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c() {
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(p.MaxOpen), p.Name)
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(p.InUse), p.Name, "in_use")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(p.Idle), p.Name, "idle")
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(p.Waits), p.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitTimeDesc, prometheus.CounterValue, p.WaitTime.Seconds(), p.Name)
	}
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
	if status < 100 || status > 599 {
		status = 0 // "other"
	}
	key := seriesKey{method, route, status}
	v, ok := m.series.Load(key)
	if !ok {
		v, _ = m.series.LoadOrStore(key, &series{
			requests: m.requests.WithLabelValues(method, route, metricStatus(status)),
			latency:  m.latency.WithLabelValues(method, route),
		})
	}
	sr := v.(*series)
	sr.requests.Inc()
	sr.latency.Observe(d.Seconds())
}

// seriesKey is the labels of a request, as observe bounds them (status
// 0 for "other"); series the request metrics they select. Looking the
// pair up by labels in the vectors, under their locks, with a status
// string made each time, was most of observe's cost, paid on every
// request; the keys are as bounded as the labels.
type (
	seriesKey struct {
		method, route string
		status        int
	}
	series struct {
		requests prometheus.Counter
		latency  prometheus.Observer
	}
)

func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// metricStatus is the label of a status as observe bounds it: 0 is
// "other".
func metricStatus(status int) string {
	if status == 0 {
		return "other"
	}
	return strconv.Itoa(status)
}
