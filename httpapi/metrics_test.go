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
}
