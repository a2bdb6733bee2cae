package httpapi

import (
	"fmt"
	"testing"
	"time"
)

// A million distinct methods, and statuses no handler sends, leave the
// request metrics with a handful of series.
func TestMetricLabelsStayBounded(t *testing.T) {
	m := NewMetrics()
	for i := range 1_000_000 {
		m.observe(fmt.Sprintf("X%07d", i), "unmatched", 400+i%2, time.Millisecond)
	}
	for _, status := range []int{0, -1, 600, 1000} {
		m.observe("GET", "unmatched", status, time.Millisecond)
	}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range families {
		series[f.GetName()] = len(f.GetMetric())
	}
	// other × {400, 401} and GET × other; other and GET.
	if series["widgetapi_http_requests_total"] != 3 || series["widgetapi_http_request_duration_seconds"] != 2 {
		t.Fatalf("series: %v", series)
	}
	// And observe remembers no more pairs than there are series.
	remembered := 0
	m.series.Range(func(_, _ any) bool { remembered++; return true })
	if remembered != 3 {
		t.Fatalf("%d series remembered", remembered)
	}
}

// Each request counts once in its series, found again for the next
// request with the same labels, and not in another's.
func TestMetricsCountEachRequestInItsSeries(t *testing.T) {
	m := NewMetrics()
	for range 3 {
		m.observe("GET", "GET /api/v1/widgets/{name}", 200, time.Millisecond)
	}
	m.observe("GET", "GET /api/v1/widgets/{name}", 404, time.Second)
	m.observe("HEAD", "GET /api/v1/widgets/{name}", 200, time.Millisecond)
	m.observe("BREW", "unmatched", 1000, time.Millisecond)
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			name := f.GetName()
			for _, l := range mt.GetLabel() {
				name += " " + l.GetValue()
			}
			switch {
			case mt.GetCounter() != nil:
				got[name] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[name] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"widgetapi_http_requests_total GET GET /api/v1/widgets/{name} 200":        3,
		"widgetapi_http_requests_total GET GET /api/v1/widgets/{name} 404":        1,
		"widgetapi_http_requests_total HEAD GET /api/v1/widgets/{name} 200":       1,
		"widgetapi_http_requests_total other unmatched other":                     1,
		"widgetapi_http_request_duration_seconds GET GET /api/v1/widgets/{name}":  4,
		"widgetapi_http_request_duration_seconds HEAD GET /api/v1/widgets/{name}": 1,
		"widgetapi_http_request_duration_seconds other unmatched":                 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
