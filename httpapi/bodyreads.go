package httpapi

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"widgetapi"
)

// MaxAnonymousBodyReads bounds the bodies of requests without a token
// (registration and login) that are read at once. An honest body arrives
// with its headers and is read in microseconds, so the bound is only ever
// reached by bodies that trickle in; each may hold its read, and a buffer
// of what it has sent, for up to the server's read timeout.
const MaxAnonymousBodyReads = 64

// AnonymousBodyWait is how long a body without a token waits for one of
// those reads before the request is refused with 503 and Retry-After.
const AnonymousBodyWait = time.Second

// bodyReads counts the request bodies being read and bounds those of
// anonymous clients, who need no account to open as many slow uploads as
// they have connections. Requests with a verified token are counted but
// never wait here, so that an anonymous flood cannot starve them; what
// each holds is what it has sent (see readBody).
type bodyReads struct {
	anonymous     chan struct{} // one element per anonymous read
	wait          time.Duration // AnonymousBodyWait
	waiting       atomic.Int64  // anonymous bodies waiting for a read
	authenticated atomic.Int64
}

func newBodyReads() *bodyReads {
	return &bodyReads{anonymous: make(chan struct{}, MaxAnonymousBodyReads), wait: AnonymousBodyWait}
}

var errBodyReadsBusy = httpError(codeBusy, "The server is busy receiving other requests. Please try again shortly.")

// start begins the read of r's body and returns the function that ends
// it. An anonymous body waits up to AnonymousBodyWait for a free read,
// then gets errBodyReadsBusy. A nil bodyReads (a request that did not come
// through a Server) reads at once.
func (b *bodyReads) start(r *http.Request) (done func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	if claimsFrom(r.Context()) != nil {
		b.authenticated.Add(1)
		return b.endAuthenticated, nil
	}
	select {
	case b.anonymous <- struct{}{}:
		return b.endAnonymous, nil
	default:
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	timeout := time.NewTimer(b.wait)
	defer timeout.Stop()
	select {
	case b.anonymous <- struct{}{}:
		return b.endAnonymous, nil
	case <-timeout.C:
		return nil, errBodyReadsBusy
	case <-r.Context().Done():
		return nil, widgetapi.Canceled(r.Context().Err())
	}
}

func (b *bodyReads) endAnonymous()     { <-b.anonymous }
func (b *bodyReads) endAuthenticated() { b.authenticated.Add(-1) }

var bodyReadsDesc = prometheus.NewDesc("widgetapi_http_body_reads",
	"Request bodies being read (reading) or waiting for a read (waiting), by whether the client has a token.",
	[]string{"client", "state"}, nil)

// Describe and Collect export the counts as widgetapi_http_body_reads.
func (b *bodyReads) Describe(ch chan<- *prometheus.Desc) { ch <- bodyReadsDesc }

func (b *bodyReads) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(bodyReadsDesc, prometheus.GaugeValue, float64(len(b.anonymous)), "anonymous", "reading")
	ch <- prometheus.MustNewConstMetric(bodyReadsDesc, prometheus.GaugeValue, float64(b.waiting.Load()), "anonymous", "waiting")
	ch <- prometheus.MustNewConstMetric(bodyReadsDesc, prometheus.GaugeValue, float64(b.authenticated.Load()), "authenticated", "reading")
}
