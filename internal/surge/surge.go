// Package surge gives back to the operating system the memory that a surge
// of connections took, once the surge is over.
//
// Each open connection costs the HTTP server some tens of kilobytes
// (goroutine stack, read and write buffers), and thousands held open at
// once, as a flood of slow clients holds them, cost a hundred megabytes or
// more. When they close, the Go runtime returns that memory lazily: the
// buffers net/http keeps in sync.Pools outlive one collection, and an idle
// server collects only every two minutes, so its resident memory stays at
// the surge's height for several minutes. A Watch counts the open
// connections and, once they have fallen to a quarter of a surge's peak,
// collects twice and returns the free memory at once: one release per
// surge, never per request, and at most one per Interval.
package surge

import (
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Config sizes a Watch.
type Config struct {
	// Surge is how many connections open at once make a surge.
	Surge int
	// Settle is how long after the connections fell to a quarter of
	// their peak the memory is given back, if they are still that few.
	Settle time.Duration
	// Interval is the least time between two releases.
	Interval time.Duration
	// Logger gets one line per release; required.
	Logger *slog.Logger
	// Now and After are the clock: After runs f once d has passed. The
	// real clock when nil.
	Now   func() time.Time
	After func(d time.Duration, f func())
	// Release gives the memory back; by default two collections, the
	// second with the free memory returned to the operating system.
	Release func()
}

// The production settings: a surge is 512 connections (some 15 MiB of
// them), and memory is given back a second after it ends, at most every
// ten seconds.
const (
	DefaultSurge    = 512
	DefaultSettle   = time.Second
	DefaultInterval = 10 * time.Second
)

// Watch counts the open connections of an HTTP server; set its ConnState
// as the server's.
type Watch struct {
	cfg Config

	mu          sync.Mutex
	open, peak  int
	scheduled   bool
	lastRelease time.Time
}

// New returns a Watch; zero sizes of cfg take the defaults.
func New(cfg Config) *Watch {
	if cfg.Surge <= 0 {
		cfg.Surge = DefaultSurge
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if cfg.Release == nil {
		cfg.Release = release
	}
	return &Watch{cfg: cfg}
}

// release collects twice: the first collection moves what sync.Pools keep
// to their victim caches, the second frees it, and FreeOSMemory returns
// every free page rather than leaving them to the background scavenger.
func release() {
	runtime.GC()
	debug.FreeOSMemory()
}

// ConnState counts a connection that opens or closes. It is called on the
// connection's goroutine and only takes a lock.
func (w *Watch) ConnState(_ net.Conn, state http.ConnState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch state {
	case http.StateNew:
		w.open++
		w.peak = max(w.peak, w.open)
	case http.StateClosed, http.StateHijacked:
		w.open--
		w.schedule()
	}
}

// Open returns how many connections are open, and the peak the next
// release is measured against.
func (w *Watch) Open() (open, peak int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.open, w.peak
}

// schedule arranges a release once a surge has fallen to a quarter of its
// peak. With mu held.
func (w *Watch) schedule() {
	if w.scheduled || w.peak < w.cfg.Surge || w.open > w.peak/4 {
		return
	}
	w.scheduled = true
	wait := w.cfg.Settle
	if next := w.lastRelease.Add(w.cfg.Interval); w.cfg.Now().Add(wait).Before(next) {
		wait = next.Sub(w.cfg.Now())
	}
	w.cfg.After(wait, w.fire)
}

// fire releases the memory if the connections are still few; a surge that
// came back waits for its own end.
func (w *Watch) fire() {
	w.mu.Lock()
	w.scheduled = false
	if w.open > w.peak/4 {
		w.mu.Unlock()
		return
	}
	peak := w.peak
	w.peak = w.open
	w.lastRelease = w.cfg.Now()
	w.mu.Unlock()

	w.cfg.Release()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.cfg.Logger.Info("connection surge over: memory returned", "peak_connections", peak,
		"heap_in_use_bytes", m.HeapInuse, "heap_released_bytes", m.HeapReleased)
}
