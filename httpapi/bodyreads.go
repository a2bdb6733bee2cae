package httpapi

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"widgetapi"
)

// MaxAnonymousBodyReads bounds the bodies of requests without a token
// (registration and login) that are read at once. An honest body arrives
// with its headers and is read in microseconds, so the bound is only ever
// reached by bodies that trickle in; each may hold its read, and a buffer
// of what it has sent, for up to the server's read timeout. What those
// cost is what their clients sent (see readBody), so the bound is there to
// cap the goroutines and buffers of a flood, not to ration honest clients.
const MaxAnonymousBodyReads = 1024

// MaxAnonymousBodyReadsPerAddress bounds the anonymous body reads of one
// client address (as the throttles count it: an IPv6 client by its /64),
// so that one client cannot hold every read: it takes an attacker 128
// addresses to reach MaxAnonymousBodyReads, where 64 connections from one
// address once kept every registration and login waiting.
const MaxAnonymousBodyReadsPerAddress = 8

// AnonymousBodyWait is how long a body without a token waits for a read
// of its address and then one of the server's before the request is
// refused with 503 and Retry-After.
const AnonymousBodyWait = time.Second

// bodyReads counts the request bodies being read and bounds those of
// anonymous clients, who need no account to open as many slow uploads as
// they have connections: per address, then in all. Requests with a
// verified token are counted but never wait here, so that an anonymous
// flood cannot starve them; what each holds is what it has sent (see
// readBody).
type bodyReads struct {
	anonymous     chan struct{} // one element per anonymous read
	perAddress    int
	wait          time.Duration // AnonymousBodyWait
	waiting       atomic.Int64  // anonymous bodies waiting for a read
	authenticated atomic.Int64

	mu sync.Mutex
	// addresses holds the addresses with a read or a body waiting for
	// one, so at most one entry for each connection being served.
	addresses map[string]*addressReads
}

// addressReads is one address's reads, and the requests using them.
type addressReads struct {
	reads chan struct{} // one element per read of the address
	users int           // requests holding or waiting for one; under mu
}

func newBodyReads() *bodyReads {
	return &bodyReads{anonymous: make(chan struct{}, MaxAnonymousBodyReads), perAddress: MaxAnonymousBodyReadsPerAddress,
		wait: AnonymousBodyWait, addresses: make(map[string]*addressReads)}
}

var errBodyReadsBusy = httpError(codeBusy, "The server is busy receiving other requests. Please try again shortly.")

// start begins the read of r's body and returns the function that ends it. An anonymous body waits up to
// AnonymousBodyWait for a free read of its address and then of the
// server, and then gets errBodyReadsBusy. A nil bodyReads (a request that
// did not come through a Server) reads at once.
func (b *bodyReads) start(r *http.Request) (done func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	if claimsFrom(r.Context()) != nil {
		b.authenticated.Add(1)
		return b.endAuthenticated, nil
	}
	address := widgetapi.AddressKey(widgetapi.RequestFromContext(r.Context()).Address)
	a := b.enter(address)
	// One wait for both reads, begun by the first that must wait.
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	if err := b.take(r, a.reads, &wait); err != nil {
		b.leave(address, a)
		return nil, err
	}
	if err := b.take(r, b.anonymous, &wait); err != nil {
		<-a.reads
		b.leave(address, a)
		return nil, err
	}
	return func() {
		<-b.anonymous
		<-a.reads
		b.leave(address, a)
	}, nil
}

// take takes one of reads, waiting if there is none until *wait, which
// the first take that waits starts, fires.
func (b *bodyReads) take(r *http.Request, reads chan struct{}, wait **time.Timer) error {
	select {
	case reads <- struct{}{}:
		return nil
	default:
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	if *wait == nil {
		*wait = time.NewTimer(b.wait)
	}
	select {
	case reads <- struct{}{}:
		return nil
	case <-(*wait).C:
		return errBodyReadsBusy
	case <-r.Context().Done():
		return widgetapi.Canceled(r.Context().Err())
	}
}

// enter records one more request of address and returns its reads.
func (b *bodyReads) enter(address string) *addressReads {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.addresses[address]
	if a == nil {
		a = &addressReads{reads: make(chan struct{}, b.perAddress)}
		b.addresses[address] = a
	}
	a.users++
	return a
}

// leave forgets address once no request of it holds or waits for a read.
func (b *bodyReads) leave(address string, a *addressReads) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.users--; a.users == 0 {
		delete(b.addresses, address)
	}
}

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
